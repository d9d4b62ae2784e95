#include <sluice/connectors/postgres/lookup_join.hpp>

#include <sluice/connectors/http/message_template.hpp>

#include <spdlog/spdlog.h>

#include <boost/json/object.hpp>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace sluice {

namespace detail {

struct lookup_source_state {
  postgres_lookup_options options;
  std::shared_ptr<spdlog::logger> log;

  std::mutex mutex;                         // guards the two members below
  std::vector<const postgres_lookup*> live; // lookups of processors that exist now
  postgres_lookup_metrics closed;           // summed counters of destroyed processors
  std::atomic<std::uint64_t> batches{0}, records_in{0}, joined{0}, dropped{0}, failed{0};

  explicit lookup_source_state(postgres_lookup_options o)
      : options(std::move(o)), log(options.logger ? options.logger : spdlog::default_logger()) {}
};

namespace {

void add(postgres_lookup_metrics& sum, const postgres_lookup_metrics& m) {
  sum.cache_hits += m.cache_hits;
  sum.cache_misses += m.cache_misses;
  sum.queries += m.queries;
  sum.retries += m.retries;
  sum.connects += m.connects;
}

} // namespace

struct lookup_worker::impl {
  struct job {
    std::vector<std::string> keys;
    std::size_t records;
    std::string task;
    done_handler on_done;
  };

  std::shared_ptr<lookup_source_state> state;
  std::string node;
  postgres_lookup lookup;
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<job> jobs;
  bool stopping = false;
  std::thread thread;

  impl(std::shared_ptr<lookup_source_state> s, std::string n)
      : state(std::move(s)), node(std::move(n)), lookup(state->options) {
    {
      std::lock_guard lock{state->mutex};
      state->live.push_back(&lookup);
    }
    thread = std::thread([this] { run(); });
  }

  ~impl() {
    {
      std::lock_guard lock{mutex};
      stopping = true;
      if (!jobs.empty())
        state->log->info("lookup join {}: stopping with {} batch(es) not joined; they are not committed "
                         "and will be processed again",
                         node, jobs.size());
    }
    lookup.request_stop();
    cv.notify_all();
    thread.join();
    std::lock_guard lock{state->mutex};
    add(state->closed, lookup.metrics());
    std::erase(state->live, &lookup);
  }

  void run() {
    while (true) {
      job j;
      {
        std::unique_lock lock{mutex};
        cv.wait(lock, [&] { return stopping || !jobs.empty(); });
        if (stopping)
          return;
        j = std::move(jobs.front());
        jobs.pop_front();
      }
      const auto retries_before = lookup.metrics().retries;
      const auto started = std::chrono::steady_clock::now();
      auto result = std::make_shared<expected<lookup_rows>>(lookup.lookup(j.keys));
      if (!result->has_value() && result->error().code == errc::cancelled) {
        // The task is closing: the batch stays deferred, so its offsets are never committed.
        state->log->info("lookup join {} task {}: stopped while waiting for PostgreSQL; {} record(s) not "
                         "joined, they will be processed again after restart",
                         node, j.task, j.records);
        return;
      }
      if (result->has_value() && lookup.metrics().retries != retries_before) {
        const auto held =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
        state->log->info("lookup join {} task {}: PostgreSQL answered again; joining the {} record(s) held "
                         "for {} ms",
                         node, j.task, j.records, held.count());
      }
      j.on_done(std::move(result));
    }
  }
};

lookup_worker::lookup_worker(std::shared_ptr<lookup_source_state> state, std::string node)
    : impl_(std::make_unique<impl>(std::move(state), std::move(node))) {}

lookup_worker::~lookup_worker() = default;

void lookup_worker::submit(std::vector<std::string> keys, std::size_t records, std::string task, done_handler on_done) {
  {
    std::lock_guard lock{impl_->mutex};
    impl_->jobs.push_back({std::move(keys), records, std::move(task), std::move(on_done)});
  }
  impl_->cv.notify_one();
}

void lookup_worker::count(std::uint64_t in, std::uint64_t joined, std::uint64_t dropped, std::uint64_t failed) {
  auto& s = *impl_->state;
  s.batches++;
  s.records_in += in;
  s.joined += joined;
  s.dropped += dropped;
  s.failed += failed;
}

void lookup_worker::log_failure(const std::string& task, const error& error) {
  impl_->state->log->error("lookup join {} task {}: lookup failed without retry ({}): {}; the batch's records "
                           "go to the dead-letter topic",
                           impl_->node, task, to_string(error.code), error.message);
}

} // namespace detail

postgres_lookup_source::postgres_lookup_source(postgres_lookup_options options) {
  if (auto problem = postgres_lookup::validate(options))
    throw std::invalid_argument("postgres_lookup_source: " + *problem);
  state_ = std::make_shared<detail::lookup_source_state>(std::move(options));
}

lookup_join_metrics postgres_lookup_source::metrics() const {
  lookup_join_metrics m;
  {
    std::lock_guard lock{state_->mutex};
    m.lookup = state_->closed;
    for (const auto* l : state_->live)
      detail::add(m.lookup, l->metrics());
  }
  m.batches = state_->batches;
  m.records_in = state_->records_in;
  m.records_joined = state_->joined;
  m.records_dropped = state_->dropped;
  m.records_failed = state_->failed;
  return m;
}

void postgres_lookup_source::collect_metrics(const std::string& node, std::vector<metric_sample>& out) const {
  const auto m = metrics();
  auto add = [&](const char* name, const char* help, std::uint64_t v) {
    out.push_back({name, help, metric_type::counter, {{"operator", node}}, static_cast<double>(v)});
  };
  add("sluice_lookup_join_cache_hits_total", "Lookup keys answered from the join's cache", m.lookup.cache_hits);
  add("sluice_lookup_join_cache_misses_total", "Lookup keys that had to be queried", m.lookup.cache_misses);
  add("sluice_lookup_join_queries_total", "Lookup queries answered (one per batch's misses)", m.lookup.queries);
  add("sluice_lookup_join_retries_total", "Lookup attempts retried (connection lost, server restarting)",
      m.lookup.retries);
  add("sluice_lookup_join_records_dropped_total", "Inner-join records dropped (no row for their key)",
      m.records_dropped);
  add("sluice_lookup_join_records_failed_total", "Join records dead-lettered (lookup or joiner failed)",
      m.records_failed);
}

const postgres_lookup_options& postgres_lookup_source::options() const { return state_->options; }

boost::json::value merge_row_fn::operator()(const boost::json::value& value, const lookup_row* row) const {
  boost::json::object out;
  if (value.is_object())
    out = value.get_object();
  else
    out["value"] = value;
  if (row)
    for (const auto& [column, v] : *row)
      if (!out.contains(column))
        out[column] = v;
  return out;
}

std::function<std::optional<std::string>(const boost::json::value&)> json_field_key(std::string name) {
  return [name = std::move(name)](const boost::json::value& v) -> std::optional<std::string> {
    const auto* o = v.if_object();
    if (!o)
      return std::nullopt;
    const auto* f = o->if_contains(name);
    if (!f || f->is_null())
      return std::nullopt;
    return format_value(*f);
  };
}

namespace {

std::chrono::milliseconds ms_property(const std::string& key, const std::string& text) {
  try {
    std::size_t used = 0;
    auto n = std::stoll(text, &used);
    if (used != text.size() || n < 0)
      throw std::invalid_argument("");
    return std::chrono::milliseconds{n};
  } catch (const std::exception&) {
    throw std::invalid_argument(key + ": expected a non-negative integer, got '" + text + "'");
  }
}

} // namespace

postgres_lookup_options postgres_lookup_options_from(const std::map<std::string, std::string>& properties,
                                                     postgres_lookup_options base) {
  auto o = std::move(base);
  auto get = [&](const char* key) -> const std::string* {
    auto it = properties.find(key);
    return it == properties.end() ? nullptr : &it->second;
  };
  if (auto v = get("postgres.url"))
    o.conninfo = *v;
  if (auto v = get("lookup.table"))
    o.table = *v;
  if (auto v = get("lookup.key.column"))
    o.key_column = *v;
  if (auto v = get("lookup.query"))
    o.query = *v;
  if (auto v = get("lookup.columns")) {
    o.columns.clear();
    std::size_t start = 0;
    while (start <= v->size()) {
      auto end = v->find(',', start);
      if (end == std::string::npos)
        end = v->size();
      auto col = v->substr(start, end - start);
      col.erase(0, col.find_first_not_of(' '));
      col.erase(col.find_last_not_of(' ') + 1);
      if (!col.empty())
        o.columns.push_back(col);
      start = end + 1;
    }
  }
  if (auto v = get("lookup.cache.max.rows"))
    o.cache_max_rows = static_cast<std::size_t>(ms_property("lookup.cache.max.rows", *v).count());
  if (auto v = get("lookup.cache.ttl.ms"))
    o.cache_ttl = ms_property("lookup.cache.ttl.ms", *v);
  if (auto v = get("lookup.retry.backoff.min.ms"))
    o.retry_backoff_min = ms_property("lookup.retry.backoff.min.ms", *v);
  if (auto v = get("lookup.retry.backoff.max.ms"))
    o.retry_backoff_max = ms_property("lookup.retry.backoff.max.ms", *v);
  if (auto v = get("lookup.max.attempts"))
    o.max_attempts = static_cast<std::size_t>(ms_property("lookup.max.attempts", *v).count());
  if (auto v = get("lookup.query.timeout.ms"))
    o.query_timeout = ms_property("lookup.query.timeout.ms", *v);
  return o;
}

} // namespace sluice
