// Where the instances of an application serve their stores, for interactive queries across
// instances. Kafka Streams carries each instance's application.server and assignment in the group
// protocol's user data; librdkafka has no hook for that, so every instance keeps an entry of its
// own current in the compacted internal topic `<application.id>-endpoints` and reads everyone's.
#pragma once

#include <sluice/streams_config.hpp>

#include <chrono>
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

/// What an instance runs: its active tasks, and those of them with stores.
struct instance_assignment {
  std::set<std::string> tasks; ///< every active task ("1_3"), restoring ones included
  store_tasks stores;          ///< its stores, with the tasks that hold them (for queries)
  bool operator==(const instance_assignment&) const = default;
};

/// One instance's entry: where it serves and what it said it runs, last.
struct instance_endpoint {
  std::string id;                 ///< the entry's key: application.server if set, else a random id
  std::string server;             ///< its application.server as others reach it ("host:port"); "": no HTTP
  instance_assignment assignment; ///< what it runs
  int64_t offset = 0;             ///< of the entry in the topic: of two claims on a task, the later one holds
};

/// An entry's value: {"server":…,"tasks":[…],"stores":{"<store>":["<task>",…]}}.
std::string encode_endpoint(const std::string& server, const instance_assignment& assignment);

/// The entry of instance `id` from its value; nullopt if it is not one.
std::optional<instance_endpoint> decode_endpoint(const std::string& id, std::string_view value);

/// The servers of `entries`, `self` left out, that hold `store` in a task no later entry claims
/// (an instance that died keeps its entry until its tasks are claimed again), in address order.
std::vector<std::string> holders_of(const std::vector<instance_endpoint>& entries, const std::string& store,
                                    const std::string& self);

/// The active owner (instance id) of each task, by the latest claim among `entries`.
std::map<std::string, std::string> active_owners(const std::vector<instance_endpoint>& entries);

/// This instance's view of the directory, kept current on a thread of its own.
class endpoint_directory {
public:
  /// How often an instance writes its entry even when nothing changed.
  static constexpr std::chrono::milliseconds heartbeat{2000};
  /// An entry not written again for this long is an instance that is gone (killed, cut off).
  static constexpr std::chrono::milliseconds expiry{10000};

  /// Publishes this instance's entry (`id`, `server`, and what `local` answers, asked about every
  /// 200 ms; written when it changes and every `heartbeat`) and reads every instance's from the
  /// start of the topic, until destroyed. Throws std::runtime_error if the clients cannot be created.
  endpoint_directory(const streams_config& config, std::string id, std::string server,
                     std::function<instance_assignment()> local);

  /// Removes this instance's entry (a tombstone, flushed for at most 2 s) and stops.
  ~endpoint_directory();
  endpoint_directory(const endpoint_directory&) = delete;
  endpoint_directory& operator=(const endpoint_directory&) = delete;

  /// This instance's id.
  const std::string& id() const;

  /// This instance's application.server ("" without HTTP).
  const std::string& server() const;

  /// The entries of the instances alive now (written within `expiry`), this instance's included.
  std::vector<instance_endpoint> entries() const;

  /// The other instances that hold `store` now (holders_of over entries()).
  std::vector<std::string> holders(const std::string& store) const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace sluice
