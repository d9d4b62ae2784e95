// Small helpers shared by the end-to-end tests: unique names, temporary directories, waiting,
// reading a topic back, a child's recent log, HTTP GETs and Prometheus samples.
#pragma once

#include "child_process.hpp"
#include "kafka_test_client.hpp"

#include <sluice/streams_config.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sluice::test {

/// `prefix` plus the process id, a random salt and a counter: unique topic and application names.
std::string unique_name(const std::string& prefix);

/// A fresh directory under the temporary directory, removed with everything in it on destruction.
struct temp_dir {
  explicit temp_dir(const std::string& prefix = "sluice-test");
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  std::filesystem::path path;
};

/// The settings of an app run in the test's process: `application_id` on `bootstrap_servers`, its
/// state in `state_dir`, everything else at its default.
sluice::streams_config app_config(const std::string& application_id, const std::string& bootstrap_servers,
                                  const std::filesystem::path& state_dir);

/// The last 4000 characters of a child's stderr, for failure messages; after a crash, the 4000
/// before its report and the whole report.
std::string tail_of(const child_process& child);

/// Polls `condition` every `poll` until it holds (true) or `timeout` passes (false); `timeout` is
/// multiplied by the build's test time scale (1; more in sanitizer builds, which run slower).
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll = std::chrono::milliseconds{300});

/// An HTTP answer: status and body.
struct http_answer {
  int status = 0;
  std::string body;
};

/// GETs `path` ("/metrics") from `base` ("http://localhost:8080/"); throws on a connection failure.
http_answer http_get(const std::string& base, const std::string& path);

/// The sum of every sample of `name` in Prometheus text `metrics` whose labels include each of
/// `labels` (`{"operator", "evens"}`); nullopt if there is none.
std::optional<double> metric_sum(const std::string& metrics, const std::string& name,
                                 const std::vector<std::pair<std::string, std::string>>& labels = {});

/// Every record of `topic` from the beginning to its current end (waits `idle` for stragglers).
std::vector<consumed_record> read_all(const kafka_test_client& client, const std::string& topic,
                                      std::chrono::milliseconds idle = std::chrono::seconds{5});

} // namespace sluice::test
