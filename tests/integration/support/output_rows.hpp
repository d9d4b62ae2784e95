#pragma once
// Comparing an app's output with expectations computed in the test, and waiting for that output to
// be complete. An output row has an identity (what it is about: a key, or a key and a window) and
// a JSON value; the expectation says, per identity, which value and how many times.
//
// Without failures every expected row must appear exactly as often as expected and nothing else.
// After a SIGKILL (at least once), rows may appear again, but each again with its expected value:
// the distinct rows are still exactly the expected ones.

#include "app_instances.hpp"
#include "kafka_test_client.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace sluice::test {

// What an output must hold for one identity.
struct expected_row {
  boost::json::value value;
  std::size_t times = 1;
};
using expected_rows = std::map<std::string, expected_row>;

// An output as read: per identity, the values in the order read.
using actual_rows = std::map<std::string, std::vector<boost::json::value>>;

// Parses each record's value as JSON and files it under `identity(record, value)`; throws
// std::invalid_argument for a null or non-JSON value.
actual_rows rows_of(const std::vector<consumed_record>& records,
                    const std::function<std::string(const consumed_record&, const boost::json::value&)>& identity);

// True if both are the same JSON, numbers compared as doubles within 1e-12 relative (an aggregate
// summed in another order, or Boost.JSON 1.81's parser, may differ in the last bits).
bool same_json(const boost::json::value& a, const boost::json::value& b);

// Outcome of comparing an output with its expectation.
struct row_check {
  std::size_t expected = 0;   // rows expected (with repetitions)
  std::size_t missing = 0;    // expected rows absent (or present fewer times than expected)
  std::size_t unexpected = 0; // rows of identities never expected (e.g. a window that must not be emitted)
  std::size_t wrong = 0;      // rows whose value is not the expected one for their identity
  std::size_t duplicates = 0; // rows beyond the expected number of their identity, with the expected value
  std::string first_problem;  // one missing, unexpected or wrong row, "" if none

  // Every expected row there with its value and nothing else; repeated rows only if allowed.
  bool matches(bool repeats_allowed) const {
    return missing == 0 && unexpected == 0 && wrong == 0 && (repeats_allowed || duplicates == 0);
  }
  // "345 expected: 0 missing, 0 unexpected, 0 wrong, 12 repeated; first problem: ..."
  std::string summary() const;
};

row_check check_rows(const expected_rows& expected, const actual_rows& actual);

// Records of each output topic, as read back.
using topic_records = std::map<std::string, std::vector<consumed_record>>;

// Waits for the app's output: reads `topics` back whenever their end offsets reach at least the
// given record counts, until `complete` says the output holds everything expected, `app` loses an
// instance, or `timeout` passes. Then waits until the app's group has committed its `inputs` (and
// its repartition topics) to their end, so that whatever it would write beyond the expected is
// written, and returns the topics as read after that.
topic_records settle_outputs(const kafka_test_client& client, const std::map<std::string, std::size_t>& topics,
                             const std::function<bool(const topic_records&)>& complete, app_instances& app,
                             const std::vector<std::string>& inputs,
                             std::chrono::milliseconds timeout = std::chrono::seconds{40});

} // namespace sluice::test
