#include "actors/standby_tasks.hpp"

#include "actors/commit_metadata.hpp"
#include "actors/kafka_client.hpp"
#include "actors/task_actor.hpp"
#include "actors/task_stores.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace sluice {

namespace {

/// FNV-1a over `a`, a separator and `b`: the same on every instance and build.
uint64_t rank(const std::string& a, const std::string& b) {
  uint64_t h = 14695981039346656037ull;
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s)
      h = (h ^ c) * 1099511628211ull;
  };
  mix(a);
  mix("\n");
  mix(b);
  return h;
}

/// Changelog records a standby applies before it looks at its assignment again.
constexpr int64_t records_per_round = 200'000;

} // namespace

std::vector<std::string> standby_holders(const std::string& task, const std::string& active,
                                         const std::vector<std::string>& instances, int64_t replicas) {
  std::vector<std::pair<uint64_t, std::string>> ranked;
  for (const auto& i : instances)
    if (i != active)
      ranked.emplace_back(rank(task, i), i);
  std::sort(ranked.begin(), ranked.end(), std::greater<>{});
  std::vector<std::string> out;
  for (size_t i = 0; i < ranked.size() && static_cast<int64_t>(i) < replicas; ++i)
    out.push_back(ranked[i].second);
  return out;
}

struct standby_tasks::impl {
  /// A stateful task of the topology: its name and source partitions.
  struct task_spec {
    int subtopology;
    int32_t partition;
    std::vector<std::pair<std::string, int32_t>> inputs;
  };

  const topology& topo;
  const streams_config& config;
  std::shared_ptr<const store_resources> shared;
  const endpoint_directory& directory;
  const instance_metrics& metrics;
  std::map<std::string, task_spec> stateful; // by task name
  kafka_handle offsets;                      // reads the group's committed offsets, never joins it
  std::map<std::string, std::unique_ptr<standby_stores>> running;
  std::set<std::string> waiting; // placed here but locked by an active task of this machine
  mutable std::mutex mutex;      // guards the figures below, read by scrapes
  size_t kept = 0;               // standbys open
  std::map<std::string, int64_t> lag_by_task;
  std::atomic<int64_t> applied{0};
  std::chrono::steady_clock::time_point followed; // the last catch-up
  std::atomic<bool> stop{false};
  std::condition_variable wake;
  std::mutex wake_mutex;
  std::thread thread;

  impl(const topology& t, const streams_config& c, std::shared_ptr<const store_resources> r,
       const std::map<std::string, int32_t>& partitions, const endpoint_directory& d, const instance_metrics& m)
      : topo(t), config(c), shared(std::move(r)), directory(d), metrics(m) {
    for (const auto& s : topo.subtopologies()) {
      if (!topo.has_stores(s.id))
        continue;
      int32_t tasks = 0;
      for (const auto& topic : s.source_topics)
        if (auto it = partitions.find(topic); it != partitions.end())
          tasks = std::max(tasks, it->second);
      for (int32_t p = 0; p < tasks; ++p) {
        task_spec spec{s.id, p, {}};
        for (const auto& topic : s.source_topics)
          if (auto it = partitions.find(topic); it != partitions.end() && p < it->second)
            spec.inputs.emplace_back(topic, p);
        stateful[task_name(s.id, p)] = std::move(spec);
      }
    }
    offsets = make_kafka_client(RD_KAFKA_CONSUMER,
                                {{{"bootstrap.servers", config.bootstrap_servers},
                                  {"group.id", config.application_id},
                                  {"enable.auto.commit", "false"},
                                  {"client.id", config.application_id + "-standby"}},
                                 config.kafka_common,
                                 config.kafka_consumer},
                                "the standby offset reader");
  }

  /// The tasks this instance should keep a standby of now; tasks whose active owner is not known
  /// (moving) keep what they have.
  std::pair<std::set<std::string>, std::set<std::string>> placement() const {
    const auto entries = directory.entries();
    const auto owners = active_owners(entries);
    std::vector<std::string> instances;
    for (const auto& e : entries)
      instances.push_back(e.id);
    std::set<std::string> keep, unknown;
    for (const auto& [task, spec] : stateful) {
      auto owner = owners.find(task);
      if (owner == owners.end()) {
        unknown.insert(task);
        continue;
      }
      const auto holders = standby_holders(task, owner->second, instances, config.num_standby_replicas);
      if (std::find(holders.begin(), holders.end(), directory.id()) != holders.end())
        keep.insert(task);
    }
    return {keep, unknown};
  }

  /// The committed metadata of every standby's inputs (empty on failure: nothing is applied).
  std::map<std::string, committed_state> committed() {
    std::map<std::string, committed_state> out;
    if (running.empty())
      return out;
    std::unique_ptr<rd_kafka_topic_partition_list_t, decltype(&rd_kafka_topic_partition_list_destroy)> list{
      rd_kafka_topic_partition_list_new(0), &rd_kafka_topic_partition_list_destroy};
    for (const auto& [task, stores] : running)
      for (const auto& [topic, p] : stateful.at(task).inputs)
        rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p);
    if (auto err = rd_kafka_committed(offsets.get(), list.get(), 10000)) {
      spdlog::warn("standbys: cannot read the committed offsets: {} (retrying)", rd_kafka_err2str(err));
      return out;
    }
    committed_metadata by_partition;
    for (int i = 0; i < list->cnt; ++i) {
      const auto& p = list->elems[i];
      if (p.metadata && p.metadata_size > 0)
        by_partition[{p.topic, p.partition}] = std::string{static_cast<const char*>(p.metadata), p.metadata_size};
      else if (p.offset == RD_KAFKA_OFFSET_INVALID)
        by_partition[{p.topic, p.partition}] = task_metadata_of_no_commit;
    }
    for (const auto& [task, stores] : running) {
      committed_metadata mine;
      for (const auto& tp : stateful.at(task).inputs)
        if (auto it = by_partition.find(tp); it != by_partition.end())
          mine.insert(*it);
      out[task] = decode_metadata(mine);
    }
    return out;
  }

  void close(const std::string& task, const char* why) {
    if (running.erase(task))
      spdlog::info("standby of task {} closed: {}", task, why);
    waiting.erase(task);
  }

  void round() {
    const auto [keep, unknown] = placement();
    std::set<std::string> active;
    for (const auto& t : metrics.tasks())
      active.insert(t);
    for (auto it = running.begin(); it != running.end();) {
      const auto task = (it++)->first;
      if (active.count(task))
        close(task, "the task runs here now, from these stores");
      else if (!keep.count(task) && !unknown.count(task))
        close(task, "another instance keeps it now");
    }
    for (const auto& task : keep) {
      if (running.count(task) || active.count(task))
        continue;
      const auto& spec = stateful.at(task);
      auto stores = standby_stores::open(topo, spec.subtopology, spec.partition, config, *shared);
      if (!stores) {
        if (waiting.insert(task).second)
          spdlog::info("standby of task {} waits: its state directory is in use here", task);
        continue;
      }
      waiting.erase(task);
      spdlog::info("keeping a standby of task {}", task);
      running[task] = std::move(stores);
    }
    // Following is done twice a second (or at once while behind); giving a task up, at every round.
    const bool behind = std::any_of(running.begin(), running.end(), [](auto& r) { return r.second->lag() > 0; });
    if (!behind && std::chrono::steady_clock::now() - followed < std::chrono::milliseconds(500)) {
      std::lock_guard lock{mutex};
      kept = running.size();
      return;
    }
    followed = std::chrono::steady_clock::now();
    const auto positions = committed();
    std::map<std::string, int64_t> lags;
    for (auto& [task, stores] : running) {
      auto it = positions.find(task);
      if (it == positions.end())
        continue;
      applied += stores->catch_up(it->second.changelogs, records_per_round, stop);
      lags[task] = stores->lag();
    }
    std::lock_guard lock{mutex};
    kept = running.size();
    lag_by_task = std::move(lags);
  }

  void run() {
    while (!stop) {
      try {
        round();
      } catch (const std::exception& e) {
        spdlog::warn("standbys: {} (retrying)", e.what());
      }
      std::unique_lock lock{wake_mutex};
      wake.wait_for(lock, std::chrono::milliseconds(100), [&] { return stop.load(); });
    }
    running.clear();
    std::lock_guard lock{mutex};
    kept = 0;
    lag_by_task.clear();
  }
};

standby_tasks::standby_tasks(const topology& topo, const streams_config& config,
                             std::shared_ptr<const store_resources> shared,
                             const std::map<std::string, int32_t>& partitions, const endpoint_directory& directory,
                             instance_metrics& metrics)
    : impl_(std::make_shared<impl>(topo, config, std::move(shared), partitions, directory, metrics)) {
  metrics.add_source([weak = std::weak_ptr<impl>(impl_)](std::vector<metric_sample>& out) {
    auto d = weak.lock();
    if (!d)
      return;
    std::lock_guard lock{d->mutex};
    out.push_back({"sluice_standby_tasks",
                   "Tasks of other instances whose stores this instance keeps warm",
                   metric_type::gauge,
                   {},
                   static_cast<double>(d->kept)});
    out.push_back({"sluice_standby_records_total",
                   "Changelog records applied to standby stores",
                   metric_type::counter,
                   {},
                   static_cast<double>(d->applied.load())});
    for (const auto& [task, lag] : d->lag_by_task)
      out.push_back({"sluice_standby_lag_records",
                     "Committed changelog records a standby has not applied yet",
                     metric_type::gauge,
                     {{"task", task}},
                     static_cast<double>(lag)});
  });
  impl_->thread = std::thread([d = impl_.get()] { d->run(); });
}

standby_tasks::~standby_tasks() {
  impl_->stop = true;
  impl_->wake.notify_all();
  impl_->thread.join();
}

} // namespace sluice
