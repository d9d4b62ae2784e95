#pragma once
// Helpers of the cpu-anomaly end-to-end tests: the expected output computed from the input as read
// back from the broker (own JSON parsing and `usage > 80` rule, no runtime code), parsing of the
// app's output, end offsets of a topic, log parsing, and the command line of a cpu-anomaly child.

#include "kafka_test_client.hpp"
#include "offset_probe.hpp"

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace sluice::test::cpu_anomaly {

// One output row of cpu-anomaly, keyed: (canonical JSON of the key, time_ltz, hostname, cpu, usage).
struct output_row {
  std::string key; // the parsed key re-serialized compactly ("" for a null key)
  std::int64_t time_ltz = 0;
  std::string hostname;
  std::string cpu;
  double usage = 0;
  // Rows order lexicographically by all fields, so they can key a multiset.
  auto operator<=>(const output_row&) const = default;
};

// A multiset of rows: row -> how often it occurs.
using row_counts = std::map<output_row, std::size_t>;

// The output a reading must produce, computed here from the raw record: nullopt if the record is
// filtered out (usage <= 80). Throws std::invalid_argument if it is not a valid reading (bad JSON,
// not an object, a field missing or of the wrong type).
std::optional<output_row> expected_output(const consumed_record& input);

// Expected multiset for a whole input topic; records that are not valid readings are skipped and
// counted in `invalid` if given.
row_counts expected_outputs(const std::vector<consumed_record>& input, std::size_t* invalid = nullptr);

// Parses one output record of cpu-anomaly: an object with exactly the keys time_ltz (integer),
// hostname (string), cpu (string), usage (number). Throws std::invalid_argument otherwise.
output_row parse_output(const consumed_record& output);

// Multiset of parsed outputs; throws std::invalid_argument naming the first bad record.
row_counts parse_outputs(const std::vector<consumed_record>& output);

// Outcome of comparing actual against expected multisets.
struct comparison {
  std::size_t missing = 0;    // expected occurrences absent from actual
  std::size_t duplicates = 0; // extra occurrences of expected rows
  std::size_t unexpected = 0; // occurrences of rows never expected
  std::string first_problem;  // a description of one missing or unexpected row, "" if none
};

// Compares `actual` with `expected` row by row.
comparison compare(const row_counts& expected, const row_counts& actual);

// Total number of rows (with multiplicity).
std::size_t total(const row_counts& rows);

// End offsets of a topic, polled while waiting for output.
using sluice::test::offset_probe;

// Polls `condition` every `interval` until it is true (returns true) or `timeout` passes (false).
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval = std::chrono::milliseconds(200));

// A name unique to this process and call, e.g. "cpu-in-12345-3", for topics and application ids.
std::string unique_name(const std::string& prefix);

// Partitions a cpu-anomaly instance holds according to its log: the number in the last
// "(now N task(s))" / "(N task(s) left)" line of `log` (one task per partition for this
// topology); -1 if there is none yet.
int tasks_from_log(const std::string& log);

// Command line of a cpu-anomaly instance running only the usage > 80 filter (--filter-only) with
// quick rebalances (session timeout 6 s, heartbeat 500 ms) and a 200 ms commit interval, state
// under `state_dir`.
std::vector<std::string> app_args(const std::string& bootstrap_servers, const std::string& application_id,
                                  const std::string& input_topic, const std::string& output_topic,
                                  const std::filesystem::path& state_dir);

// A fresh directory under the temp dir, removed on destruction.
class temp_dir {
public:
  // Creates the directory; throws std::filesystem::filesystem_error on failure.
  temp_dir();
  // Removes the directory recursively, ignoring errors.
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  // The directory.
  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

} // namespace sluice::test::cpu_anomaly
