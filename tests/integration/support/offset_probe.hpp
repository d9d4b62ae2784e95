#pragma once
// End offsets (high watermarks) of a topic's partitions through one long-lived client, cheap enough
// to poll while waiting for an app's output, and whether a group committed its inputs to their end.

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

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

  // True when consumer group `group` has committed every partition of `inputs` at its end, and
  // every partition of its own internal topics (`<group>-…-repartition`, `<group>-…-alerts`) past
  // its last record other than a watermark announcement: everything it consumed is processed and
  // what that produced is written. False too if the offsets cannot be read right now.
  bool consumed_to_end(const std::string& group, const std::vector<std::string>& inputs);

private:
  std::int64_t try_end_offset_sum(const std::string& topic);
  void connect();

  std::string bootstrap_servers_;
  rd_kafka_t* rk_ = nullptr;
};

// Polls (every 200 ms, through a probe of its own) until `group` consumed `inputs` to their end
// (offset_probe::consumed_to_end); false if `timeout` passed first.
bool wait_until_consumed(const std::string& bootstrap_servers, const std::string& group,
                         const std::vector<std::string>& inputs,
                         std::chrono::milliseconds timeout = std::chrono::seconds{30});

} // namespace sluice::test
