// sluice-broker: librdkafka's mock Kafka cluster as a standalone process on 127.0.0.1, so that apps,
// generators, kcat and further instances in other processes can share one broker.

#include "embedded_broker.hpp"
#include "port_pinning.hpp"

#include <CLI/CLI.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr const char* description = R"(sluice-broker: an embedded Kafka broker for development and tests.

It is librdkafka's mock cluster (librdkafka 2.0.2) listening on 127.0.0.1. It speaks the Kafka
protocol well enough for producers, consumers, consumer groups, committed offsets, the idempotent
producer, kcat. Prints "bootstrap.servers=HOST:PORT[,...]" as the first line of stdout.
Stops on SIGINT/SIGTERM (exit code 0).

Limits, know them before you trust it:
  - in memory only: everything is gone when it stops;
  - per partition only the newest ~5 MiB / 100 000 batches are kept; older data is dropped
    silently: produce with compression (lz4/zstd) and enough partitions for volume;
  - no log compaction, no time-based retention;
  - topics auto-create with 4 partitions on first use (use --topic for other counts);
  - the Admin API (CreateTopics, DeleteTopics, DescribeConfigs, ...) is not supported;
  - transactions are not real (no markers, no fencing; read_committed sees aborted data);
  - it answers in microseconds where a real cluster takes milliseconds: --rtt-ms adds round-trip
    time to every broker's responses, to see latency effects before they reach users.
)";

struct topic_spec {
  std::string name;
  int partitions;
};

// Parses "NAME:PARTITIONS"; throws CLI::ValidationError on bad input.
topic_spec parse_topic(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    throw CLI::ValidationError("--topic", "expected NAME:PARTITIONS, got '" + text + "'");
  int partitions = 0;
  try {
    size_t used = 0;
    partitions = std::stoi(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1)
      partitions = 0;
  } catch (const std::exception&) {
  }
  if (partitions < 1)
    throw CLI::ValidationError("--topic", "partition count must be a positive integer: '" + text + "'");
  return {text.substr(0, colon), partitions};
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{description, "sluice-broker"};
  int port = 9092;
  int brokers = 1;
  int rtt_ms = 0;
  std::vector<std::string> topics;
  app.add_option("--port", port, "port of broker 1; broker i listens on port+i-1; 0 = ephemeral ports")
    ->capture_default_str()
    ->check(CLI::Range(0, 65535));
  app.add_option("--brokers", brokers, "number of brokers (ids 1..N)")->capture_default_str()->check(CLI::Range(1, 32));
  app.add_option("--rtt-ms", rtt_ms, "round-trip time each broker adds to its responses, in ms")
    ->capture_default_str()
    ->check(CLI::Range(0, 60000));
  app.add_option("--topic", topics, "pre-create topic NAME with PARTITIONS partitions (repeatable)")
    ->type_name("NAME:PARTITIONS");
  CLI11_PARSE(app, argc, argv);

  if (port != 0 && port + brokers - 1 > 65535) {
    std::fprintf(stderr, "sluice-broker: ports %d..%d do not fit below 65536\n", port, port + brokers - 1);
    return 2;
  }
  std::vector<topic_spec> specs;
  try {
    for (const auto& t : topics)
      specs.push_back(parse_topic(t));
  } catch (const CLI::Error& e) {
    return app.exit(e);
  }

  // Block the stop signals before librdkafka starts its threads, so that they inherit the mask
  // and only sigwait() below sees the signals.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  try {
    for (int i = 0; port != 0 && i < brokers; ++i) {
      if (const auto reason = sluice::port_pinning::probe(static_cast<std::uint16_t>(port + i)); !reason.empty()) {
        std::fprintf(stderr, "sluice-broker: cannot listen on 127.0.0.1:%d: %s\n", port + i, reason.c_str());
        return 1;
      }
    }
    if (port != 0)
      sluice::port_pinning::arm(static_cast<std::uint16_t>(port));
    auto broker = std::make_unique<sluice::embedded_broker>(brokers);
    sluice::port_pinning::disarm();
    for (const auto& spec : specs)
      broker->create_topic(spec.name, spec.partitions);
    for (int id = 1; rtt_ms > 0 && id <= brokers; ++id)
      broker->set_rtt(id, std::chrono::milliseconds{rtt_ms});
    std::printf("bootstrap.servers=%s\n", broker->bootstrap_servers().c_str());
    std::fflush(stdout);
    std::fprintf(stderr,
                 "sluice-broker: %d broker(s) on %s, %zu topic(s) pre-created, round-trip time %d ms; SIGINT/SIGTERM "
                 "stops\n",
                 brokers, broker->bootstrap_servers().c_str(), specs.size(), rtt_ms);
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    std::fprintf(stderr, "sluice-broker: %s received, stopping\n", strsignal(signal_number));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sluice-broker: %s\n", e.what());
    return 1;
  }
  return 0;
}
