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
/// (`close`) and the broker acknowledged them all, `owner` receives (epoch_acked_atom, marker);
/// on a failed delivery it receives (delivery_failed_atom, reason).
class delivery_epoch {
public:
  explicit delivery_epoch(caf::actor owner) : owner_(std::move(owner)) {}

  /// Counts one more record in flight.
  void add() { pending_.fetch_add(1, std::memory_order_relaxed); }

  /// Marks the epoch as ended by `marker`; may delete `this` (call no member afterwards).
  void close(uint64_t marker);

  /// Counts one delivery report; may delete `this`.
  void delivered(const char* error);

private:
  void release();
  std::atomic<int64_t> pending_{1}; // in-flight records, +1 until closed
  caf::actor owner_;
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

  /// Enqueues a record (bytes copied), counting it in `epoch`; partitioned by key as Kafka's Java
  /// client does (murmur2). Returns RD_KAFKA_RESP_ERR__QUEUE_FULL when the local queue is full.
  rd_kafka_resp_err_t send(rd_kafka_topic_t* topic, std::string_view key, bool key_is_null, std::string_view value,
                           int64_t timestamp, rd_kafka_headers_t* headers, delivery_epoch* epoch);

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
