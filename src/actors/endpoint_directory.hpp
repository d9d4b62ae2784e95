// Where the instances of an application serve their stores, for interactive queries across
// instances. Kafka Streams carries each instance's application.server and assignment in the group
// protocol's user data; librdkafka has no hook for that, so every instance keeps an entry of its
// own current in the compacted internal topic `<application.id>-endpoints` and reads everyone's.
#pragma once

#include "actors/streams_config.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

/// The internal topic of instance endpoints: `<application.id>-endpoints` (one partition, compacted).
inline std::string endpoints_topic(const std::string& application_id) { return application_id + "-endpoints"; }

/// Store name → the tasks ("1_3") of one instance that have that store.
using store_tasks = std::map<std::string, std::set<std::string>>;

/// One instance's entry: what it said it serves, last.
struct instance_endpoint {
  std::string server; ///< its application.server as others reach it ("host:port"); the entry's key
  store_tasks stores; ///< its stores and their tasks
  int64_t offset = 0; ///< of the entry in the topic: of two claims on a task, the later one holds
};

/// An entry's value: {"stores":{"<store>":["<task>",…]}}.
std::string encode_endpoint(const store_tasks& stores);

/// The stores of an entry's value; nullopt if it is not one.
std::optional<store_tasks> decode_endpoint(std::string_view value);

/// The servers of `entries`, `self` left out, that hold `store` in a task no later entry claims
/// (an instance that died keeps its entry until its tasks are claimed again), in address order.
std::vector<std::string> holders_of(const std::vector<instance_endpoint>& entries, const std::string& store,
                                    const std::string& self);

/// This instance's view of the directory, kept current on a thread of its own.
class endpoint_directory {
public:
  /// Publishes `self`'s entry (its stores as `local` answers, asked about every 200 ms; written
  /// whenever they change) and reads every instance's from the start of the topic, until
  /// destroyed. Throws std::runtime_error if the clients cannot be created.
  endpoint_directory(const streams_config& config, std::string self, std::function<store_tasks()> local);

  /// Removes this instance's entry (a tombstone, flushed for at most 2 s) and stops.
  ~endpoint_directory();
  endpoint_directory(const endpoint_directory&) = delete;
  endpoint_directory& operator=(const endpoint_directory&) = delete;

  /// This instance's address, as published.
  const std::string& self() const;

  /// Every entry read so far, this instance's included.
  std::vector<instance_endpoint> entries() const;

  /// The other instances that hold `store` now (holders_of over entries()).
  std::vector<std::string> holders(const std::string& store) const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace sluice
