// `kafka_streams`: one running instance of a topology, as Kafka Streams' KafkaStreams.
#pragma once

#include <sluice/streams_config.hpp>
#include <sluice/topology/topology.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace sluice {

/// Runs a topology: joins the consumer group `application.id`, processes the partitions it is
/// given, commits at least once. Start more processes with the same application.id to scale out.
class kafka_streams {
public:
  /// Prepares an instance; nothing connects before `start()`.
  kafka_streams(topology t, streams_config config);

  /// Calls `close()`.
  ~kafka_streams();
  kafka_streams(const kafka_streams&) = delete;
  kafka_streams& operator=(const kafka_streams&) = delete;

  /// Starts processing in background threads. Throws std::runtime_error on bad settings.
  void start();

  /// Final commit of processed work, leaves the group, stops. Idempotent.
  void close();

  /// Starts, runs until SIGINT/SIGTERM or a fatal error, closes; returns a process exit code
  /// (0 after a signal, 1 after a failure, naming it in the log). A crash (SIGSEGV, SIGABRT, ...)
  /// writes its signal and stack to stderr before the process ends.
  int run();

  /// True once the instance has stopped because of a failure (see `failure()`).
  bool failed() const;

  /// Why the instance stopped, or "" while it runs or after a clean close.
  std::string failure() const;

  /// Records handed to tasks since start.
  int64_t records_consumed() const;

  /// Records that went all the way through their task since start.
  int64_t records_processed() const;

  /// Offset commits that succeeded since start (exactly-once: committed transactions).
  int64_t commits() const;

  /// Exactly-once: transactions aborted since start, after each of which every task started again
  /// from the last commit.
  int64_t rewinds() const;

  /// Partitions currently assigned to this instance.
  int32_t assigned_partitions() const;

  /// The HTTP endpoint's base address ("http://localhost:8080/") once started with
  /// `application.server` set, else "".
  std::string http_address() const;

private:
  void serve_http();
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Sets up spdlog for an app: stderr, timestamps, `level` (trace … error).
void setup_logging(const std::string& level);

} // namespace sluice
