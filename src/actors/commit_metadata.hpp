// Commit metadata of a source partition (at most a few hundred bytes): a version line, the
// partition's input state (input_clocks::save, then a space and origin_filter::save when the
// input is a repartition topic) and one line per store of the task,
// "<store>=<last changelog offset>".
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

namespace sluice {

/// The committed metadata of source partitions, by (topic, partition).
using committed_metadata = std::map<std::pair<std::string, int32_t>, std::string>;

/// The metadata that stands for "never committed": no input state, every store empty.
inline constexpr const char* task_metadata_of_no_commit = "sluice1\n";

/// What the last commit carried for a task: input states and store changelog positions.
struct committed_state {
  std::map<std::pair<std::string, int32_t>, std::string> inputs; ///< input state by source partition
  std::optional<std::map<std::string, int64_t>> changelogs;      ///< nullopt: no metadata of ours
  bool operator==(const committed_state&) const = default;
};

/// The metadata of one source partition: `input_state` (one line) and every store's last changelog offset.
std::string encode_metadata(const std::string& input_state, const std::map<std::string, int64_t>& changelogs);

/// Reads what `encode_metadata` wrote for each partition; text that is not ours is skipped, and
/// so is a store line without a readable offset.
committed_state decode_metadata(const committed_metadata& committed);

} // namespace sluice
