// Where a record in a repartition topic came from, so that readers drop what a restarted writer
// writes again. A writer resumes from its last commit and repeats what it wrote after it; each
// record carries its writer's source position, and a reader admits from each writer's source
// partition only positions past the last one it saw (docs/architecture.md, "Repartition topics").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace sluice {

/// The source position of a record written to a repartition topic.
struct record_origin {
  int32_t source = -1;   ///< the writer's source topic, as its index in `topology::source_topics()`; -1 = none
  int32_t partition = 0; ///< the writer's source partition
  int64_t offset = -1;   ///< the source record's offset; -1 = not from one record (a window result)
  int32_t ordinal = 0;   ///< which of the records made from that source record
};

/// Appends `o` and then `payload` to `out` (cleared first): the value written to a repartition topic.
void encode_origin(const record_origin& o, std::string_view payload, std::string& out);

/// Splits a repartition value into its origin and the payload; nullopt if it carries no origin
/// (written by something else), in which case the whole value is the payload.
std::optional<std::pair<record_origin, std::string_view>> decode_origin(std::string_view value);

/// The positions seen from each writer's source partition in one repartition partition.
class origin_filter {
public:
  /// True, and remembered, if `o` comes after everything seen from its source partition (or has
  /// no position); false for a record written again.
  bool admit(const record_origin& o);

  /// The state, as text without spaces (commit metadata).
  std::string save() const;

  /// Restores what `save` wrote; false (and nothing changed) if `text` is not such a state.
  bool restore(std::string_view text);

private:
  std::map<std::pair<int32_t, int32_t>, std::pair<int64_t, int32_t>> last_; // (source, partition) -> (offset, ordinal)
};

} // namespace sluice
