// The instance's one Kafka producer, shared by all tasks, with delivery tracking per commit epoch.
#pragma once

#include "actors/streams_config.hpp"
#include "topology/processor.hpp"

#include <caf/actor.hpp>

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace sluice {

/// The records one operator produced between two commit markers. When the marker has passed
/// (`close`) and the broker acknowledged them all, `owner` receives (epoch_acked_atom, marker,
/// highest acknowledged offset of the tracked topic or -1);
/// on a failed delivery it receives (delivery_failed_atom, reason).
class delivery_epoch {
public:
  /// `tracked`: a topic whose highest acknowledged offset the epoch reports (a changelog), or null.
  explicit delivery_epoch(caf::actor owner, rd_kafka_topic_t* tracked = nullptr)
    : owner_(std::move(owner)), tracked_(tracked) {}

  /// Counts one more record in flight.
  void add() { pending_.fetch_add(1, std::memory_order_relaxed); }

  /// Marks the epoch as ended by `marker`; may delete `this` (call no member afterwards).
  void close(uint64_t marker);

  /// Counts one delivery report of a record written to `topic` at `offset`; may delete `this`.
  void delivered(const char* error, const rd_kafka_topic_t* topic = nullptr, int64_t offset = -1);

private:
  void release();
  std::atomic<int64_t> pending_{1}; // in-flight records, +1 until closed
  caf::actor owner_;
  const rd_kafka_topic_t* tracked_;
  std::atomic<int64_t> tracked_offset_{-1};
  uint64_t marker_ = 0;
};

/// Wraps the producer: creates it from the config, serves delivery reports on its own thread.
class record_collector {
public:
  /// Creates the producer; throws std::runtime_error on bad librdkafka settings.
  explicit record_collector(const streams_config& config);

  /// Waits up to `flush_timeout` for outstanding records, then destroys the producer.
  ~record_collector();
  record_collector(const record_collector&) = delete;
  record_collector& operator=(const record_collector&) = delete;

  /// A topic handle for `name`, created once and valid while the collector lives. Thread-safe.
  rd_kafka_topic_t* topic(const std::string& name);

  /// A record to produce; bytes are copied by `send`.
  struct outgoing {
    std::string_view key;
    std::string_view value;
    int64_t timestamp = 0;
    bool key_is_null = false;
    bool value_is_null = false;            ///< a tombstone
    int32_t partition = RD_KAFKA_PARTITION_UA; ///< UA: by key, murmur2, as Kafka's Java client
    rd_kafka_headers_t* headers = nullptr; ///< owned by the collector once sent
  };

  /// Enqueues `r` to `topic`, counting it in `epoch`. Returns RD_KAFKA_RESP_ERR__QUEUE_FULL when
  /// the local queue is full (nothing was taken; try again later).
  rd_kafka_resp_err_t send(rd_kafka_topic_t* topic, const outgoing& r, delivery_epoch* epoch);

  /// The raw handle (for metadata queries).
  rd_kafka_t* handle() const { return producer_; }

private:
  rd_kafka_t* producer_ = nullptr;
  std::mutex topics_mutex_;
  std::map<std::string, rd_kafka_topic_t*> topics_;
  std::atomic<bool> stop_{false};
  std::thread poller_;
};

/// Applies librdkafka settings to `conf`; throws std::runtime_error naming the bad key.
void apply_kafka_settings(rd_kafka_conf_t* conf, const std::map<std::string, std::string>& settings);

} // namespace sluice
