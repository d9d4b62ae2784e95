// Event time: the watermark of each input of a task and how inputs combine into the watermark
// every windowed operator closes windows and judges lateness by. Semantics and a worked
// example: docs/windowing.md; how watermarks cross repartition topics: docs/architecture.md.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

/// The watermark before anything is known: holds every window open.
inline constexpr int64_t no_watermark = std::numeric_limits<int64_t>::min();

/// The event-time progress of an input, an operator or a task.
struct event_clock {
  int64_t watermark = no_watermark; ///< no record older than this is expected any more
  bool idle = false;                ///< sends nothing now, so it holds nothing back
  bool operator==(const event_clock&) const = default;
};

/// The clock of several inputs together: the minimum watermark over the inputs that are not idle;
/// when every input is idle (or there is none), idle at the largest watermark among them.
event_clock combine(std::span<const event_clock> inputs);

/// `next` as the successor of `current`: a watermark never moves back (an input rejoining from
/// idleness behind the others makes its records late instead).
inline event_clock successor(const event_clock& current, event_clock next) {
  next.watermark = std::max(next.watermark, current.watermark);
  return next;
}

/// What an upstream task tells each partition of a repartition topic it writes: its clock, which
/// task it is and how many write the topic. Travels as the header `watermark_header` of a record
/// without key and value, consumed by the runtime, never seen by processors.
struct watermark_announcement {
  int32_t upstream = 0;   ///< the writing task's partition
  int32_t upstreams = 0;  ///< how many tasks write the topic
  event_clock clock;      ///<
  int64_t lease_ms = 0;   ///< idle clocks: renewed within this, or the idleness lapses (0: never lapses)
  int64_t sent_at_ms = 0; ///< the writer's wall-clock time of sending (its record's timestamp; not in the text)
};

/// The header naming a watermark announcement.
inline constexpr std::string_view watermark_header = "sluice.watermark";

/// "<upstream>/<upstreams>/<watermark or ->/<0|1 idle>", then "/<lease_ms>" if it has a lease.
std::string encode_announcement(const watermark_announcement& a);

/// The announcement in `text`, or nullopt if it is not one.
std::optional<watermark_announcement> decode_announcement(std::string_view text);

/// How often the runtime confirms that a caught-up input is still caught up — at the end of its
/// partition, its broker answering — under an idle timeout of `idle_timeout_ms`. A confirmation
/// lapses after `confirmations_lapse_after` intervals: a consumer cut off from its brokers looks
/// just like a silent partition, and may have records on the broker it has not fetched yet.
constexpr int64_t confirmation_interval_ms(int64_t idle_timeout_ms) {
  return std::clamp<int64_t>(idle_timeout_ms / 4, 100, 1000);
}

/// Intervals after which an unconfirmed caught-up input counts as behind (see confirmation_interval_ms).
inline constexpr int64_t confirmations_lapse_after = 3;

/// The lease of an idle writer's announcement under an idle timeout of `idle_timeout_ms`: a writer
/// renews it every confirmation interval while idle, and a reader that has heard other writers
/// this much later than the last renewal takes the writer for gone (crashed, with records it has
/// not read) and holds the watermark back at its clock again.
constexpr int64_t idle_lease_ms(int64_t idle_timeout_ms) {
  return confirmations_lapse_after * confirmation_interval_ms(idle_timeout_ms);
}

/// The inputs of one source node in one task — one partition of each topic it reads — and their
/// clocks. A plain input's watermark is the largest event time seen in it; it is idle once it has
/// been caught up (at the end of its partition, confirmed again at least every lapse time) and
/// silent for the idle timeout; an idle input whose confirmations lapse rejoins. A repartition
/// input's clock is the combination of every upstream task's announced clock; until each of them
/// has been heard, it holds the watermark back, and an idle upstream counts as idle only while its
/// lease holds: until announcements of other upstreams are stamped more than the lease after its
/// last one (writers' clocks, so skew between instances shortens or lengthens the lease).
class input_clocks {
public:
  /// Adds an input and returns its index; `announced`: its clock comes from announcements.
  size_t add(std::string topic, int32_t partition, bool announced);

  /// The index of (`topic`, `partition`), or nullopt.
  std::optional<size_t> find(std::string_view topic, int32_t partition) const;

  /// A record of a plain input carried event time `event_time`; the input is not idle.
  void observe(size_t input, int64_t event_time);

  /// Records were consumed from `input`: it is not caught up (nor idle) any more.
  void received(size_t input);

  /// Applies an announcement read from a repartition input; watermarks only move forward.
  void announce(size_t input, const watermark_announcement& a);

  /// `input` is at the end of its partition at wall-clock time `now_ms` (reached it, or still there).
  void caught_up(size_t input, int64_t now_ms);

  /// Marks idle every plain input caught up and silent for `idle_timeout_ms` (negative: never), and
  /// as behind (not caught up, not idle) every one whose last confirmation lapsed; true if any
  /// input's idleness changed.
  bool detect_idle(int64_t now_ms, int64_t idle_timeout_ms);

  /// The combined clock of all inputs.
  event_clock clock() const;

  /// The combined clock of one input.
  event_clock clock_of(size_t input) const;

  /// The state of `input` that must survive a restart, as text (commit metadata).
  std::string save(size_t input) const;

  /// Restores what `save` wrote; false (and nothing changed) if `text` is not such a state.
  bool restore(size_t input, std::string_view text);

  /// Number of inputs.
  size_t size() const { return inputs_.size(); }

  /// The topic and partition of `input`.
  std::pair<const std::string&, int32_t> name_of(size_t input) const {
    return {inputs_[input].topic, inputs_[input].partition};
  }

private:
  struct upstream {
    event_clock clock;
    int64_t heard_at = 0; // sent_at_ms of its latest announcement
    int64_t lease_ms = 0; // of its idleness; 0: no lease
    /// Its clock as `latest_heard` judges it: an idle clock whose lease ran out is not idle.
    event_clock judged(int64_t latest_heard) const {
      return {clock.watermark, clock.idle && (lease_ms <= 0 || latest_heard - heard_at <= lease_ms)};
    }
  };
  struct input {
    std::string topic;
    int32_t partition = 0;
    bool announced = false;
    event_clock own;                 // plain inputs
    std::vector<upstream> upstreams; // repartition inputs: by upstream task
    int64_t latest_heard = 0;        // repartition inputs: the latest sent_at_ms of any announcement
    bool is_caught_up = false;
    int64_t caught_up_since = 0; // since when, continuously confirmed
    int64_t confirmed_at = 0;    // the last confirmation
  };
  std::vector<input> inputs_;
};

} // namespace sluice
