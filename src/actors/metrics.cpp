#include "actors/metrics.hpp"

#include "actors/interactive_queries.hpp"

#include <sluice/topology/event_time.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <system_error>

namespace sluice {

operator_metrics::operator_metrics(std::string t, std::string n)
    : task(std::move(t)), node(std::move(n)), watermark(no_watermark) {}

void task_metrics::set_stores(std::vector<std::pair<std::string, std::filesystem::path>> stores) {
  std::lock_guard lock{mutex_};
  stores_ = std::move(stores);
}

std::vector<std::pair<std::string, std::filesystem::path>> task_metrics::stores() const {
  std::lock_guard lock{mutex_};
  return stores_;
}

std::string health_report::json() const {
  boost::json::object o{{"ready", ready}, {"state", state},         {"reason", reason},
                        {"tasks", tasks}, {"restoring", restoring}, {"partitions", partitions}};
  return boost::json::serialize(o);
}

void instance_metrics::observe_commit(std::chrono::steady_clock::duration latency) {
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(latency).count();
  const double seconds = static_cast<double>(micros) / 1e6;
  size_t b = 0;
  while (b < std::size(commit_buckets) && seconds > commit_buckets[b])
    ++b;
  commit_counts_[b].fetch_add(1, std::memory_order_relaxed);
  commit_micros_sum_.fetch_add(micros, std::memory_order_relaxed);
}

std::shared_ptr<operator_metrics> instance_metrics::add_operator(const std::string& task, const std::string& node) {
  auto m = std::make_shared<operator_metrics>(task, node);
  std::lock_guard lock{mutex_};
  operators_.push_back(m);
  return m;
}

std::shared_ptr<partition_metrics> instance_metrics::add_partition(const std::string& topic, int32_t partition,
                                                                   const std::string& task) {
  auto m = std::make_shared<partition_metrics>();
  m->topic = topic;
  m->partition = partition;
  m->task = task;
  std::lock_guard lock{mutex_};
  partitions_.push_back(m);
  return m;
}

std::shared_ptr<task_metrics> instance_metrics::add_task(const std::string& task) {
  auto m = std::make_shared<task_metrics>(task);
  std::lock_guard lock{mutex_};
  tasks_.push_back(m);
  return m;
}

std::vector<std::string> instance_metrics::tasks() const {
  std::lock_guard lock{mutex_};
  std::vector<std::string> out;
  for (const auto& t : live(tasks_))
    out.push_back(t->task);
  return out;
}

void instance_metrics::add_store(std::shared_ptr<store_replica> store) {
  std::lock_guard lock{mutex_};
  stores_.push_back(std::move(store));
}

std::vector<std::shared_ptr<store_replica>> instance_metrics::stores() const {
  std::lock_guard lock{mutex_};
  return live(stores_);
}

void instance_metrics::alert_sent(const std::string& node, std::string_view text) {
  constexpr size_t longest = 500;
  const auto now =
    std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::lock_guard lock{mutex_};
  alerts_.push_back({now, node, std::string{text.substr(0, longest)}});
  if (alerts_.size() > most_recent_alerts)
    alerts_.pop_front();
}

std::string instance_metrics::recent_alerts_json() const {
  boost::json::array out;
  std::lock_guard lock{mutex_};
  for (auto it = alerts_.rbegin(); it != alerts_.rend(); ++it)
    out.push_back({{"time", it->time}, {"operator", it->node}, {"text", it->text}});
  return boost::json::serialize(out);
}

void instance_metrics::add_source(metrics_source source) {
  std::lock_guard lock{mutex_};
  sources_.push_back(std::move(source));
}

template <class T>
std::vector<std::shared_ptr<T>> instance_metrics::live(std::vector<std::weak_ptr<T>>& entries) {
  std::vector<std::shared_ptr<T>> out;
  std::erase_if(entries, [&](const std::weak_ptr<T>& w) {
    auto p = w.lock();
    if (!p)
      return true;
    out.push_back(std::move(p));
    return false;
  });
  return out;
}

namespace {

/// Bytes of the files under `dir` (a store's LevelDB directory); 0 if it is gone.
int64_t directory_bytes(const std::filesystem::path& dir) {
  std::error_code ec;
  int64_t total = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec); !ec && it != decltype(it){}; it.increment(ec))
    if (it->is_regular_file(ec))
      total += static_cast<int64_t>(it->file_size(ec));
  return total;
}

} // namespace

std::vector<metric_sample> instance_metrics::collect() const {
  std::vector<std::shared_ptr<operator_metrics>> operators;
  std::vector<std::shared_ptr<partition_metrics>> partitions;
  std::vector<std::shared_ptr<task_metrics>> tasks;
  std::vector<metrics_source> sources;
  {
    std::lock_guard lock{mutex_};
    operators = live(operators_);
    partitions = live(partitions_);
    tasks = live(tasks_);
    sources = sources_;
  }
  std::vector<metric_sample> out;
  const auto counter = metric_type::counter;
  const auto gauge = metric_type::gauge;
  const auto histogram = metric_type::histogram;
  auto add = [&](std::string name, const char* help, metric_type type, double value,
                 std::vector<std::pair<std::string, std::string>> labels = {}) {
    out.push_back({std::move(name), help, type, std::move(labels), value});
  };
  auto num = [](const std::atomic<int64_t>& a) { return static_cast<double>(a.load(std::memory_order_relaxed)); };

  add("sluice_uptime_seconds", "Seconds since the instance was created", gauge,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  add("sluice_records_consumed_total", "Records handed to tasks by the consumer", counter, num(records_consumed));
  add("sluice_records_processed_total", "Records that went all the way through their task (outputs acknowledged)",
      counter, num(records_processed));
  add("sluice_commits_total", "Successful commits (exactly-once: committed transactions)", counter, num(commits));
  add("sluice_rewinds_total", "Exactly-once: aborted transactions after which tasks restarted from the last commit",
      counter, num(rewinds));
  add("sluice_rebalances_total", "Partition assignments and revocations this instance took part in", counter,
      num(rebalances));
  add("sluice_assigned_partitions", "Source partitions assigned to this instance", gauge,
      static_cast<double>(assigned_partitions.load()));
  {
    const char* help = "Time from asking every task for its offsets to the broker's answer to the commit";
    int64_t cumulative = 0;
    for (size_t b = 0; b <= std::size(commit_buckets); ++b) {
      cumulative += commit_counts_[b].load(std::memory_order_relaxed);
      char le[32];
      if (b < std::size(commit_buckets))
        std::snprintf(le, sizeof le, "%g", commit_buckets[b]);
      else
        std::snprintf(le, sizeof le, "+Inf");
      add("sluice_commit_latency_seconds_bucket", help, histogram, static_cast<double>(cumulative), {{"le", le}});
    }
    add("sluice_commit_latency_seconds_sum", help, histogram, num(commit_micros_sum_) / 1e6);
    add("sluice_commit_latency_seconds_count", help, histogram, static_cast<double>(cumulative));
  }

  for (const auto& o : operators) {
    std::vector<std::pair<std::string, std::string>> l{{"task", o->task}, {"operator", o->node}};
    add("sluice_operator_records_in_total", "Records in the batches an operator processed", counter, num(o->records_in),
        l);
    add("sluice_operator_records_out_total", "Records in the batches an operator forwarded", counter,
        num(o->records_out), l);
    add("sluice_records_produced_total", "Records an operator wrote to topics (sinks, repartition, alerts)", counter,
        num(o->records_produced), l);
    add("sluice_changelog_records_total", "Records an operator's store wrote to its changelog", counter,
        num(o->changelog_records), l);
    add("sluice_dead_letter_records_total", "Records an operator sent to the dead-letter topic", counter,
        num(o->dead_letters), l);
    add("sluice_late_records_total", "Records that came after every window they belong to had closed", counter,
        num(o->late_records), l);
    if (const auto w = o->watermark.load(std::memory_order_relaxed); w != no_watermark)
      add("sluice_watermark_milliseconds", "An operator's watermark (event time, epoch milliseconds)", gauge,
          static_cast<double>(w), l);
  }
  for (const auto& p : partitions) {
    std::vector<std::pair<std::string, std::string>> l{
      {"topic", p->topic}, {"partition", std::to_string(p->partition)}, {"task", p->task}};
    add("sluice_partition_records_consumed_total", "Records of a source partition handed to its task", counter,
        num(p->consumed), l);
    const auto end = p->end.load(std::memory_order_relaxed);
    const auto position = p->position.load(std::memory_order_relaxed);
    if (end >= 0)
      add("sluice_consumer_lag_records",
          "Records of a source partition not yet handed to its task (high watermark "
          "minus position)",
          gauge, static_cast<double>(std::max<int64_t>(0, end - std::max<int64_t>(position, 0))), l);
  }
  for (const auto& t : tasks) {
    std::vector<std::pair<std::string, std::string>> l{{"task", t->task}};
    add("sluice_task_running", "1 once a task's stores are restored and it runs, 0 while it restores", gauge,
        t->running ? 1 : 0, l);
    add("sluice_restore_records_total", "Changelog records a task restored", counter, num(t->restored), l);
    add("sluice_restore_remaining_records", "Changelog records a task has still to restore", gauge,
        static_cast<double>(std::max<int64_t>(0, t->to_restore - t->restored)), l);
    for (const auto& [store, dir] : t->stores())
      add("sluice_store_size_bytes", "Bytes a store takes on disk (its LevelDB files)", gauge,
          static_cast<double>(directory_bytes(dir)), {{"task", t->task}, {"store", store}});
  }
  for (const auto& s : sources)
    s(out);
  return out;
}

health_report instance_metrics::health() const {
  std::vector<std::shared_ptr<task_metrics>> tasks;
  {
    std::lock_guard lock{mutex_};
    tasks = live(tasks_);
  }
  health_report h;
  h.tasks = static_cast<int64_t>(tasks.size());
  h.restoring = std::count_if(tasks.begin(), tasks.end(), [](const auto& t) { return !t->running; });
  h.partitions = assigned_partitions.load();
  switch (state.load()) {
  case instance_state::starting:
    h.state = "starting";
    h.reason = "joining the consumer group; no partitions assigned yet";
    break;
  case instance_state::rebalancing:
    h.state = "rebalancing";
    h.reason = "the consumer group is rebalancing";
    break;
  case instance_state::closing:
    h.state = "closing";
    h.reason = "shutting down";
    break;
  case instance_state::failed:
    h.state = "failed";
    h.reason = "stopped after a failure (see the log)";
    break;
  case instance_state::running:
    if (h.restoring > 0) {
      h.state = "restoring";
      h.reason = std::to_string(h.restoring) + " of " + std::to_string(h.tasks) + " task(s) restoring their stores";
    } else {
      h.state = "running";
      h.ready = true;
    }
    break;
  }
  return h;
}

namespace {

void escape_label(std::string& out, const std::string& v) {
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
}

void append_value(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else if (v == std::floor(v) && std::fabs(v) < 1e15) {
    out += std::to_string(static_cast<int64_t>(v));
  } else {
    char buf[32]; // the shortest text that reads back as v
    out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
  }
}

/// The family a sample belongs to: a histogram's _bucket/_sum/_count samples share their base name.
std::string family_of(const metric_sample& s) {
  if (s.type == metric_type::histogram)
    for (std::string_view suffix : {"_bucket", "_sum", "_count"})
      if (s.name.ends_with(suffix))
        return s.name.substr(0, s.name.size() - suffix.size());
  return s.name;
}

const char* type_name(metric_type t) {
  return t == metric_type::counter ? "counter" : t == metric_type::gauge ? "gauge" : "histogram";
}

} // namespace

std::string prometheus_text(const std::vector<metric_sample>& samples) {
  // Families in order of first appearance, each with its samples together.
  std::vector<std::string> order;
  std::map<std::string, std::vector<const metric_sample*>> families;
  for (const auto& s : samples) {
    auto family = family_of(s);
    auto [it, fresh] = families.try_emplace(family);
    if (fresh)
      order.push_back(family);
    it->second.push_back(&s);
  }
  std::string out;
  for (const auto& family : order) {
    const auto& members = families[family];
    out += "# HELP " + family + " " + members.front()->help + "\n";
    out += "# TYPE " + family + " " + type_name(members.front()->type) + "\n";
    for (const auto* s : members) {
      out += s->name;
      if (!s->labels.empty()) {
        out += '{';
        for (size_t i = 0; i < s->labels.size(); ++i) {
          if (i)
            out += ',';
          out += s->labels[i].first + "=\"";
          escape_label(out, s->labels[i].second);
          out += '"';
        }
        out += '}';
      }
      out += ' ';
      append_value(out, s->value);
      out += '\n';
    }
  }
  return out;
}

} // namespace sluice
