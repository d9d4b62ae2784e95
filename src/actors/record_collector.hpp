// The instance's one Kafka producer, shared by all tasks, with delivery tracking per commit epoch.
#pragma once

#include "actors/cluster.hpp"
#include "actors/messages.hpp"
#include <sluice/streams_config.hpp>
#include "actors/transaction.hpp"
#include <sluice/topology/processor.hpp>

#include <caf/actor.hpp>

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

namespace sluice {

class repartition_purger;

/// The records one operator produced between two commit markers. When the marker has passed
/// (`close`) and the broker acknowledged them all, `owner` receives (epoch_acked_atom, marker,
/// highest acknowledged offset of the tracked topic or -1);
/// on a failed delivery the production handler did not skip it receives (delivery_failed_atom, reason).
class delivery_epoch {
public:
  /// `tracked`: a topic whose highest acknowledged offset the epoch reports (a changelog), or null;
  /// `generation`: the collector's generation() when the epoch's task started.
  delivery_epoch(operator_actor owner, rd_kafka_topic_t* tracked, uint64_t generation)
      : owner_(std::move(owner)), tracked_(tracked), generation_(generation) {}

  /// The collector generation the epoch's records belong to.
  uint64_t generation() const { return generation_; }

  /// Counts one more record in flight (the producing actor only, before close).
  void add() { ++sent_; }

  /// Takes back the last add(): the record was not enqueued (the producing actor only, before close).
  void withdraw() { --sent_; }

  /// Marks the epoch as ended by `marker`; may delete `this` (call no member afterwards).
  void close(uint64_t marker);

  /// Counts one delivery report of a record written to `topic` at `offset`; may delete `this`.
  void delivered(const char* error, const rd_kafka_topic_t* topic = nullptr, int64_t offset = -1);

  /// True if `topic` is the tracked one (the operator's changelog).
  bool tracks(const rd_kafka_topic_t* topic) const { return topic && topic == tracked_; }

private:
  void release(int64_t by);
  // Until closed, `pending_` is `unclosed` less the reports so far, so that it cannot reach 0, and
  // the producing side counts without touching the cache line the reporting thread writes; close()
  // subtracts `unclosed` - `sent_`, leaving the records still in flight.
  static constexpr int64_t unclosed = int64_t{1} << 62;
  std::atomic<int64_t> pending_{unclosed};
  int64_t sent_ = 0;
  operator_actor owner_;
  const rd_kafka_topic_t* tracked_;
  uint64_t generation_;
  std::atomic<int64_t> tracked_offset_{-1};
  uint64_t marker_ = 0;
};

/// True if a record the producer failed to deliver with `error` is skipped (logged, counted as
/// done) rather than failing its task: under `default.production.exception.handler=log_and_continue`,
/// except for changelog records (a skipped one would make restored state differ) and for errors
/// no record can get past (fatal producer state, authentication, authorization, invalid topic).
bool skips_production_failure(rd_kafka_resp_err_t error, exception_handler handler, bool changelog);

/// Wraps the producer: creates it from the config, serves delivery reports on its own thread.
/// Under exactly-once it is transactional: every record goes into the open transaction, and
/// while a commit or an abort runs, send() takes nothing (the caller tries again later).
class record_collector {
public:
  /// Creates the producer; throws std::runtime_error on bad librdkafka settings. A non-empty
  /// `transactional_id` makes it transactional: it registers the id (fencing an earlier producer
  /// with it) and opens the first transaction, or throws.
  explicit record_collector(const streams_config& config, const std::string& transactional_id = {});

  /// Waits up to `flush_timeout` for outstanding records, aborts an open transaction, then
  /// destroys the producer.
  ~record_collector();
  record_collector(const record_collector&) = delete;
  record_collector& operator=(const record_collector&) = delete;

  /// A topic handle for `name` on the current producer, created once per producer and valid until
  /// renew_producer replaces it (sends of an older generation never reach a handle). Thread-safe;
  /// waits while the producer is being renewed.
  rd_kafka_topic_t* topic(const std::string& name);

  /// A record to produce; bytes are copied by `send`.
  struct outgoing {
    std::string_view key;
    std::string_view value;
    int64_t timestamp = 0;
    bool key_is_null = false;
    bool value_is_null = false;                ///< a tombstone
    int32_t partition = RD_KAFKA_PARTITION_UA; ///< UA: by key, murmur2, as Kafka's Java client
    rd_kafka_headers_t* headers = nullptr;     ///< owned by the collector once sent
  };

  /// Enqueues `r` to `topic`, counting it in `epoch`. Returns RD_KAFKA_RESP_ERR__QUEUE_FULL when
  /// nothing was taken (try again later): the local queue is full, a transaction is committing
  /// or aborting, or `epoch` belongs to an earlier generation (its task is being rewound); else
  /// no error. A record the producer refuses at once is skipped as the production handler says,
  /// or throws production_error (`r.headers` then stay the caller's).
  rd_kafka_resp_err_t send(rd_kafka_topic_t* topic, const outgoing& r, delivery_epoch* epoch);

  /// True under exactly-once.
  bool transactional() const { return transactions_.has_value(); }

  /// Bumped by every abort: records of epochs of an earlier generation are never taken again.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  /// Exactly-once: why the open transaction cannot commit (a record of it failed), or nullopt.
  std::optional<std::string> transaction_failure() const;

  /// Transactional: commits the open transaction with `offsets` of `consumer`'s group (purging
  /// consumed repartition records below them once committed) and opens the next. Blocks for the
  /// round trips; send() takes nothing meanwhile. Not committed: a new generation begins.
  transaction_result commit_transaction(const rd_kafka_topic_partition_list_t* offsets, rd_kafka_t* consumer);

  /// Transactional: aborts the open transaction, begins a new generation and the next transaction.
  transaction_result abort_transaction();

  /// Transactional, after a fatal outcome (the producer was fenced, e.g. when its transaction
  /// outlived transaction.timeout.ms): discards the producer and what it holds, begins a new
  /// generation with a new producer (same transactional.id, which fences any other) and opens a
  /// transaction. Outcome fatal if that fails. Topic handles taken before are invalid after it.
  transaction_result renew_producer();

  /// The raw handle (for metadata and Admin API requests).
  rd_kafka_t* handle() const { return producer_; }

  /// Records and requests the producer has not finished with (librdkafka's out queue); from any
  /// thread (waits while a transaction ends).
  int64_t queue_length();

  /// Records what the cluster supports (before the group member starts); on a cluster with the
  /// Admin API, consumed records of `repartition_topics` are purged after commits from then on.
  void set_cluster(cluster_info cluster, const std::vector<std::string>& repartition_topics);

  /// What the cluster supports, as set by `set_cluster`.
  const cluster_info& cluster() const { return cluster_; }

  /// Offsets the group just committed: purges the repartition records below them (see
  /// repartition_purger). Thread-safe; does not block.
  void committed(const rd_kafka_topic_partition_list_t* offsets);

private:
  /// Creates the producer from `settings_` and starts serving its delivery reports.
  void start_producer();
  /// Stops the purger and the poller, destroys topic handles and the producer.
  void stop_producer();
  /// Registers the transactional.id and opens a transaction; throws std::runtime_error.
  void start_transactions();
  /// On a cluster with the Admin API, purges consumed repartition records after commits.
  void start_purger();
  /// Exactly-once: a record failed, so the open transaction cannot commit; says so once per generation.
  void transaction_failed(const std::string& what);
  /// send() once the record may be taken.
  rd_kafka_resp_err_t produce(rd_kafka_topic_t* topic, const outgoing& r, delivery_epoch* epoch);
  /// librdkafka's delivery report callback (opaque: the collector).
  static void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque);

  exception_handler production_handler_;
  int64_t purge_interval_ms_;
  std::string transactional_id_;
  std::vector<std::map<std::string, std::string>> settings_; // the producer's, applied in order
  std::set<std::string> repartition_topics_;
  cluster_info cluster_;
  std::unique_ptr<repartition_purger> purger_;
  rd_kafka_t* producer_ = nullptr;
  std::mutex topics_mutex_;
  std::map<std::string, rd_kafka_topic_t*> topics_;
  std::atomic<bool> stop_{false};
  std::thread poller_;
  std::optional<transaction_driver> transactions_; // under exactly-once
  std::shared_mutex gate_;                         // held exclusively while a transaction ends
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> failure_reported_{0}; // generation + 1 of the last reported failure
  mutable std::mutex failure_mutex_;
  std::string failure_reason_; // of the last reported failure
};

/// The output producer's librdkafka settings that `kafka.*` and `kafka.producer.*` settings override.
const std::map<std::string, std::string>& producer_defaults();

/// Applies librdkafka settings to `conf`; throws std::runtime_error naming the bad key.
void apply_kafka_settings(rd_kafka_conf_t* conf, const std::map<std::string, std::string>& settings);

} // namespace sluice
