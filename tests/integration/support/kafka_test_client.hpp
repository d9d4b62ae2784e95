#pragma once
// Kafka helpers for integration tests, on plain librdkafka: produce records and wait for delivery,
// read a topic back from the beginning, look at metadata. Every call uses its own short-lived
// client, so a helper never shares state with the code under test.

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sluice::test {

using namespace std::chrono_literals;

// One record header; a null header value is read back as "".
using header = std::pair<std::string, std::string>;

// A record to produce. nullopt key/value are sent as null (a value of null is a tombstone).
struct outgoing_record {
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<header> headers = {};
  std::int32_t partition = RD_KAFKA_PARTITION_UA; // UA: the default partitioner picks by key
  std::int64_t timestamp_ms = 0;                  // 0: now
};

// A record read back. nullopt key/value were null on the wire.
struct consumed_record {
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::int64_t timestamp_ms = -1;
  std::vector<header> headers;
};

struct consume_options {
  // Stop once this many records have been read.
  std::size_t max_records = std::numeric_limits<std::size_t>::max();
  // Stop when no record arrived for this long. With `stop_at_end`, counted from the first record or
  // partition end read (a slow first fetch is not idleness), else from the start.
  std::chrono::milliseconds idle_timeout = 5s;
  // Stop after this long in any case.
  std::chrono::milliseconds total_timeout = 60s;
  // Stop once every partition's end (as of the moment it is reached) has been read.
  bool stop_at_end = false;
  // Isolation level: "read_uncommitted" or "read_committed".
  std::string isolation_level = "read_uncommitted";
};

// Delivery outcome of the records handed to a kafka_test_producer.
struct delivery_summary {
  std::size_t delivered = 0;
  std::size_t failed = 0;
  std::string first_error; // empty if none failed
  std::size_t pending = 0; // still undelivered when flush() gave up
};

// An asynchronous producer for tests that need to produce around other events (faults, restarts).
class kafka_test_producer {
public:
  // Creates the producer (idempotent unless config says otherwise); `config` adds or overrides
  // librdkafka settings. Throws std::runtime_error on bad configuration.
  explicit kafka_test_producer(const std::string& bootstrap_servers,
                               const std::map<std::string, std::string>& config = {});
  // Destroys the producer without waiting; call flush() first to wait for deliveries.
  ~kafka_test_producer();
  kafka_test_producer(const kafka_test_producer&) = delete;
  kafka_test_producer& operator=(const kafka_test_producer&) = delete;

  // Queues one record (waiting while the local queue is full); throws std::runtime_error if
  // librdkafka refuses it.
  void send(const std::string& topic, const outgoing_record& record);

  // Waits up to `timeout` for all queued records to be delivered or to fail; returns the tally of
  // all records sent so far.
  delivery_summary flush(std::chrono::milliseconds timeout = 60s);

  // Tally so far without waiting (serves pending delivery reports first).
  delivery_summary summary();

private:
  rd_kafka_t* rk_ = nullptr;
  delivery_summary summary_;
};

class kafka_test_client {
public:
  // A client for the cluster at `bootstrap_servers`; `config` is added to every producer and
  // consumer it creates.
  explicit kafka_test_client(std::string bootstrap_servers, std::map<std::string, std::string> config = {});

  // Produces (key, value) pairs to `topic` and waits until all are delivered; throws
  // std::runtime_error naming the first error if any record fails or `timeout` passes.
  void produce(const std::string& topic, const std::vector<std::pair<std::string, std::string>>& records,
               std::chrono::milliseconds timeout = 60s) const;

  // Same for full records (null keys/values, headers, explicit partitions, timestamps).
  void produce(const std::string& topic, const std::vector<outgoing_record>& records,
               std::chrono::milliseconds timeout = 60s) const;

  // Reads `topic` from the beginning of every partition (no consumer group is joined) until one of
  // `options`' stop conditions holds; returns the records in the order received (ordered within
  // each partition). Throws std::runtime_error if the topic's metadata cannot be read.
  std::vector<consumed_record> consume(const std::string& topic, const consume_options& options = {}) const;

  // Number of partitions of `topic` (this metadata request auto-creates it on the embedded broker);
  // throws std::runtime_error if metadata cannot be read within `timeout`.
  int partition_count(const std::string& topic, std::chrono::milliseconds timeout = 10s) const;

  // The bootstrap servers this client uses.
  const std::string& bootstrap_servers() const { return bootstrap_servers_; }

  // The offset `group` committed for `topic`-`partition` (RD_KAFKA_OFFSET_INVALID: none); throws
  // std::runtime_error if it cannot be read.
  std::int64_t committed_offset(const std::string& group, const std::string& topic, std::int32_t partition) const;

private:
  std::string bootstrap_servers_;
  std::map<std::string, std::string> config_;
};

} // namespace sluice::test
