#pragma once
// The ways input reaches an app that the event-time end-to-end tests cover, and the machinery to
// run an app through one of them: records from `sluice-gen --print`, spread over a topic's
// partitions, produced as a backlog (before the app starts), live (paced, after it holds its
// partitions), part backlog and part live, or with one partition far behind the others, to one or
// several instances of the app, which may be SIGKILLed (in turn) and restarted mid-stream.
//
// The expected output of a case does not depend on how the input arrived: with event time taken
// from the records (watermarks over all inputs, idle inputs not holding back), every case of one
// input must give the same windows.

#include "app_instances.hpp"
#include "kafka_test_client.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace sluice {
class embedded_broker;
}

namespace sluice::test {

// One record as sluice-gen makes it.
struct generated_record {
  std::string topic;              // sluice-gen's topic for it ("" for a single-topic scenario)
  std::optional<std::string> key; // nullopt: a null key
  std::string value;
  std::int64_t event_time_ms = 0; // start + i * step for the i-th record; also its Kafka timestamp
};

// The records of `sluice-gen <scenario> --print --seed <seed> --start-ms <start> --step-ms <step>`
// plus `flags`, in the order sluice-gen makes them (event-time order). Throws std::runtime_error if
// sluice-gen fails.
std::vector<generated_record> generate(const std::string& scenario, std::uint64_t seed, std::int64_t step_ms,
                                       const std::vector<std::string>& flags = {},
                                       std::int64_t start_ms = 1'700'000'000'000);

// How the input arrives.
enum class arrival {
  backlog,              // all of it before the app starts
  live,                 // after the app holds every input partition, paced over the case's live_time
  backlog_then_live,    // the first third (in event-time order) as a backlog, the rest live
  one_partition_behind, // partition 0 paced over behind_duration from the app's start, the rest a backlog
};

// Wall-clock time over which live input is produced, unless a case says otherwise.
inline constexpr std::chrono::milliseconds live_duration{5000};
// Wall-clock time over which the partition behind is produced: longer than an app needs to start,
// so that much of it arrives after the other partitions' backlog has been read.
inline constexpr std::chrono::milliseconds behind_duration{8000};

// One way of running an app on an input.
struct event_time_case {
  std::string name;   // a test name suffix
  int partitions = 4; // of every input topic
  arrival input = arrival::backlog;
  int instances = 1;            // of the app, sharing one application.id
  bool empty_partition = false; // the last partition of every input topic never gets a record
  // SIGKILLs during the live input, each instance restarted at once: the k-th (from 0) kills
  // instance k % instances after (k + 1) / (kills + 2) of the live input was sent.
  int kills = 0;
  std::chrono::milliseconds live_time = live_duration; // over which live input is produced
  // idle.timeout.ms of the app. A pause of the input at least this long makes every writer idle;
  // one killed then, before it read what came after, counts as idle for its lease while the
  // others move event time on (docs/windowing.md, "Idleness"), and at this input's pace (a minute
  // of event time in half a second) that is past the grace. Cases with kills pause-proof
  // themselves with a longer timeout than a loaded machine stalls a process.
  std::chrono::milliseconds idle_timeout = app_idle_timeout;
  // A fault injected mid-stream (a database or broker outage): run once on run_case's thread,
  // after the kills, once half of the live input was sent, while the rest is still being produced;
  // returns "" or what went wrong.
  std::function<std::string()> mid_stream = {};
  // At least once, outputs after the last commit may come again (with the same values): after a
  // kill, and after a rebalance on the embedded broker, which refuses revoked partitions' final commit.
  bool may_repeat() const { return kills > 0 || instances > 1; }
};

// For test parameter names and failure messages.
void PrintTo(const event_time_case& c, std::ostream* os);

// The cases every windowed app is tested with:
// backlog on 4 partitions (1 instance); backlog on 8 partitions, one of them empty (3 instances);
// live on 1 partition (1 instance); live on 4 partitions (3 instances, one SIGKILLed and
// restarted mid-stream); a backlog on 3 of 4 partitions with the fourth far behind (1 instance).
const std::vector<event_time_case>& event_time_cases();

// A generated record with its place in a case: topic and partition, backlog or not.
struct placed_record {
  std::string topic;
  outgoing_record record;
  bool backlog = true;
};

// Places `records` in `c`'s partitions of their topics (`topics` maps sluice-gen's topic names to
// the test's, "" for a single-topic scenario). A record with a key goes by its key: the n-th
// distinct key of a topic to its n-th partition, cyclically (so one key's records stay in one
// partition, in order); a record without a key to the next partition in turn. With an empty
// partition the last one is left out; with one partition behind, partition 0's records are the
// ones that are not backlog; with backlog_then_live, the first third of `records`.
std::vector<placed_record> place(const event_time_case& c, const std::vector<generated_record>& records,
                                 const std::map<std::string, std::string>& topics);

// Runs case `c`: creates the input topics (`topics`' values) and the app's internal topics
// (`internal_topics`, names without the "<application.id>-" prefix, e.g. "by-host-repartition",
// "counts-store-changelog") with c.partitions partitions each, as the runtime asks on a broker
// that does not create topics, produces
// `records` (placed as by place()) and starts `app`'s instances in the order the case says, kills
// and restarts instances as it says, and returns once every record is delivered. Returns "" on
// success, else what went wrong (an instance did not get its partitions, a kill was not
// mid-stream, a record was not delivered, ...).
std::string run_case(const event_time_case& c, embedded_broker& broker, const std::vector<generated_record>& records,
                     const std::map<std::string, std::string>& topics, const std::vector<std::string>& internal_topics,
                     app_instances& app);

} // namespace sluice::test
