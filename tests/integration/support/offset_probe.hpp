#pragma once
// End offsets (high watermarks) of a topic's partitions through one long-lived client: cheap enough
// to poll while waiting for an app's output.

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <string>

namespace sluice::test {

// Reads the end offsets of a topic's partitions through one long-lived client.
class offset_probe {
public:
  // A client for `bootstrap_servers`; throws std::runtime_error if it cannot be created.
  explicit offset_probe(const std::string& bootstrap_servers);
  // Destroys the client.
  ~offset_probe();
  offset_probe(const offset_probe&) = delete;
  offset_probe& operator=(const offset_probe&) = delete;

  // Sum of the high watermarks of `topic`'s partitions (creating it on the embedded broker if
  // absent); -1 if they cannot be read right now (e.g. broker down; the client is then replaced,
  // since a librdkafka client that saw the broker go down may not recover on its own).
  std::int64_t end_offset_sum(const std::string& topic);

private:
  std::int64_t try_end_offset_sum(const std::string& topic);
  void connect();

  std::string bootstrap_servers_;
  rd_kafka_t* rk_ = nullptr;
};

} // namespace sluice::test
