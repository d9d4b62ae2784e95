// The metrics of one instance: counters the actors keep (relaxed atomics, bumped per batch, never
// per record), read by scrapes of /metrics and /health on the HTTP thread. Every metric is listed
// in docs/operations.md.
#pragma once

#include <sluice/topology/metric.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

struct store_replica;

/// Adds `n` to a counter that only its owner's thread writes (no atomic read-modify-write).
inline void bump(std::atomic<int64_t>& counter, int64_t n = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

/// Counters of one operator (a topology node in one task), kept by its actor.
struct operator_metrics {
  std::string task;                          ///< e.g. "0_1"
  std::string node;                          ///< e.g. "usage-over-80"
  std::atomic<int64_t> records_in{0};        ///< records in batches it processed
  std::atomic<int64_t> records_out{0};       ///< records in batches it forwarded (per output, not per child)
  std::atomic<int64_t> records_produced{0};  ///< records it wrote to topics (sinks, repartition, alerts topics)
  std::atomic<int64_t> changelog_records{0}; ///< records its store wrote to its changelog
  std::atomic<int64_t> dead_letters{0};      ///< records it sent to the dead-letter topic
  std::atomic<int64_t> late_records{0};      ///< records that came after every window they belong to closed
  std::atomic<int64_t> watermark;            ///< its clock's watermark (epoch ms), or no_watermark
  operator_metrics(std::string t, std::string n);
};

/// One assigned source partition, kept by the group member.
struct partition_metrics {
  std::string topic;                 ///<
  int32_t partition = 0;             ///<
  std::string task;                  ///< the task reading it
  std::atomic<int64_t> consumed{0};  ///< records handed to the task
  std::atomic<int64_t> position{-1}; ///< the next offset to hand out (-1: none yet)
  std::atomic<int64_t> end{-1};      ///< the partition's high watermark as last fetched (-1: unknown)
};

/// One task's lifecycle and restore progress, kept by the task actor.
struct task_metrics {
  std::string task;                   ///<
  std::atomic<bool> running{false};   ///< its stores are restored and its operators run
  std::atomic<int64_t> restored{0};   ///< changelog records restored so far
  std::atomic<int64_t> to_restore{0}; ///< changelog records the restore reads in all (known once it started)
  /// Sets the stores' names and directories (for store sizes), once they are open.
  void set_stores(std::vector<std::pair<std::string, std::filesystem::path>> stores);
  /// The stores' names and directories.
  std::vector<std::pair<std::string, std::filesystem::path>> stores() const;
  explicit task_metrics(std::string t) : task(std::move(t)) {}

private:
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, std::filesystem::path>> stores_;
};

/// Where an instance is in its life, as /health reports it.
enum class instance_state { starting, rebalancing, running, closing, failed };

/// What /health answers: ready when every assigned task runs, with the reason when not.
struct health_report {
  bool ready = false;     ///<
  std::string state;      ///< starting, rebalancing, restoring, running, closing, failed
  std::string reason;     ///< why not ready ("" when ready)
  int64_t tasks = 0;      ///< tasks assigned
  int64_t restoring = 0;  ///< tasks still restoring their stores
  int64_t partitions = 0; ///< source partitions assigned
  /// As JSON: {"ready":…,"state":…,"reason":…,"tasks":…,"restoring":…,"partitions":…}.
  std::string json() const;
};

/// The instance's registry: instance-wide counters, and the live operators, partitions and tasks
/// (registered by their actors; an entry ends with the actor that holds it).
class instance_metrics {
public:
  std::atomic<int64_t> records_consumed{0};    ///< handed to tasks
  std::atomic<int64_t> records_processed{0};   ///< fully through their task
  std::atomic<int64_t> commits{0};             ///< successful offset commits (exactly-once: transactions)
  std::atomic<int64_t> rewinds{0};             ///< exactly-once: aborted transactions, after which tasks restarted
  std::atomic<int64_t> rebalances{0};          ///< assignments and revocations this instance took part in
  std::atomic<int32_t> assigned_partitions{0}; ///< source partitions assigned now
  std::atomic<instance_state> state{instance_state::starting};                            ///< set by the group member
  const std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now(); ///< for uptime

  /// Counts a commit that took `latency` (from asking the tasks to the broker's answer).
  void observe_commit(std::chrono::steady_clock::duration latency);

  /// Registers an operator; its counters are scraped while the returned pointer lives.
  std::shared_ptr<operator_metrics> add_operator(const std::string& task, const std::string& node);
  /// Registers an assigned partition, likewise.
  std::shared_ptr<partition_metrics> add_partition(const std::string& topic, int32_t partition,
                                                   const std::string& task);
  /// Registers a task, likewise.
  std::shared_ptr<task_metrics> add_task(const std::string& task);
  /// The names of the live tasks ("1_3"), restoring ones included.
  std::vector<std::string> tasks() const;
  /// Registers a task's store for interactive queries, likewise.
  void add_store(std::shared_ptr<store_replica> store);
  /// The live stores, of every task.
  std::vector<std::shared_ptr<store_replica>> stores() const;
  /// Adds something scraped as it is (the producer's queue, a connector's counters); for the
  /// instance's lifetime.
  void add_source(metrics_source source);

  /// Keeps an alert's text among the latest (most_recent_alerts), for the live page.
  void alert_sent(const std::string& node, std::string_view text);

  /// The latest alerts, newest first, as JSON: [{"time": epoch ms, "operator", "text"}].
  std::string recent_alerts_json() const;

  /// Alerts kept for recent_alerts_json.
  static constexpr size_t most_recent_alerts = 20;

  /// Every sample now; prunes entries whose owners are gone.
  std::vector<metric_sample> collect() const;

  /// Live and ready, or why not.
  health_report health() const;

private:
  template <class T>
  static std::vector<std::shared_ptr<T>> live(std::vector<std::weak_ptr<T>>& entries);

  mutable std::mutex mutex_;
  mutable std::vector<std::weak_ptr<operator_metrics>> operators_;
  mutable std::vector<std::weak_ptr<partition_metrics>> partitions_;
  mutable std::vector<std::weak_ptr<task_metrics>> tasks_;
  mutable std::vector<std::weak_ptr<store_replica>> stores_;
  std::vector<metrics_source> sources_;
  struct sent_alert {
    int64_t time;
    std::string node, text;
  };
  std::deque<sent_alert> alerts_; // newest last
  // Commit latency, a Prometheus histogram: counts per upper bound (seconds), and the sum.
  static constexpr double commit_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  std::atomic<int64_t> commit_counts_[std::size(commit_buckets) + 1] = {};
  std::atomic<int64_t> commit_micros_sum_{0};
};

/// `samples` in Prometheus' text exposition format (version 0.0.4): samples of one name together
/// under one HELP and TYPE line, label values escaped.
std::string prometheus_text(const std::vector<metric_sample>& samples);

} // namespace sluice
