#pragma once
// An in-process Kafka cluster: librdkafka's mock cluster (rdkafka_mock.h) behind a small RAII class.
// Limits (librdkafka 2.0.2): in memory only; per partition only the newest ~5 MiB / 100 000 batches
// are kept; no compaction, no time-based retention; topics auto-create with 4 partitions; the
// Admin API is not supported; transactions are not real. See docs/operations.md, "The embedded broker".

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace sluice {

class embedded_broker {
public:
  // Starts broker_count (>= 1) brokers with ids 1..broker_count on 127.0.0.1, each on its own
  // port (ephemeral unless bind() is interposed, see apps/broker/port_pinning.hpp).
  // Throws std::runtime_error if the cluster cannot be started (e.g. a port is taken).
  explicit embedded_broker(int broker_count = 1);

  // Stops all brokers and frees the cluster; connected clients see their connections close.
  ~embedded_broker();

  embedded_broker(const embedded_broker&) = delete;
  embedded_broker& operator=(const embedded_broker&) = delete;

  // The bootstrap.servers string for clients: "127.0.0.1:PORT[,127.0.0.1:PORT...]".
  const std::string& bootstrap_servers() const { return bootstrap_servers_; }

  // Number of brokers; their ids are 1..broker_count().
  int broker_count() const { return broker_count_; }

  // Creates `name` with `partitions` partitions and replication factor min(3, broker_count()).
  // Throws std::runtime_error if it fails (e.g. the topic already exists).
  void create_topic(const std::string& name, int partitions);

  // Takes broker `broker_id` down: its connections are closed and new ones are refused until
  // set_broker_up(). Throws std::runtime_error for an unknown id.
  void set_broker_down(int broker_id);

  // Brings broker `broker_id` back up after set_broker_down(). Throws for an unknown id.
  void set_broker_up(int broker_id);

  // Delays every response of broker `broker_id` by `rtt`. Throws for an unknown id.
  void set_rtt(int broker_id, std::chrono::milliseconds rtt);

  // Makes the next errors.size() requests with this ApiKey (e.g. RD_KAFKAP_Produce = 0) fail
  // with these errors, in order, on whichever broker receives them.
  void push_request_errors(std::int16_t api_key, const std::vector<rd_kafka_resp_err_t>& errors);

  // Drops the errors still queued by push_request_errors() for this ApiKey.
  void clear_request_errors(std::int16_t api_key);

  // Makes the next errors.size() requests with this ApiKey that broker `broker_id` receives fail
  // with these errors, in order (before any push_request_errors() ones). Throws for an unknown id.
  void push_broker_request_errors(int broker_id, std::int16_t api_key, const std::vector<rd_kafka_resp_err_t>& errors);

  // Makes broker `broker_id` the leader of `topic`'s `partition` (creating the topic if needed,
  // with 4 partitions). Throws for an unknown id.
  void set_partition_leader(const std::string& topic, int partition, int broker_id);

private:
  int broker_count_;
  rd_kafka_t* host_ = nullptr;                 // producer handle that hosts the cluster
  rd_kafka_mock_cluster_t* cluster_ = nullptr; // owned; destroyed before host_
  std::string bootstrap_servers_;
};

} // namespace sluice
