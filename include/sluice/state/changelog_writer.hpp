#pragma once
// changelog_writer: where a logging store sends its changes. The runtime implements it with the
// shared Kafka producer (topic <application.id>-<store>-changelog, the task's partition); the
// offsets become known when the broker acknowledges, and the runtime then calls the store's
// commit_checkpoint(offset).

#include <cstdint>
#include <optional>
#include <string_view>

namespace sluice {

/// Sink for a store's change records, in the order the store applied them.
class changelog_writer {
public:
  virtual ~changelog_writer() = default;
  /// Enqueues one change (value nullopt = tombstone) with the causing record's timestamp.
  /// Must copy the bytes before returning and must not call back into the store.
  virtual void append(std::string_view key, std::optional<std::string_view> value, std::int64_t timestamp_ms) = 0;
};

} // namespace sluice
