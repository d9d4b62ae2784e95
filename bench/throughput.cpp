// sluice-bench-throughput: end-to-end throughput of the cpu-anomaly topology against a bare
// librdkafka consumer, on the same pre-produced input in an in-process embedded broker.
//
// The parent process hosts the broker, produces --records readings (zstd, verified by reading them
// all back), then runs each phase --repeat times in a child process (this binary re-executed with
// --phase), so that every phase has its own RSS high-water mark:
//   bare     a librdkafka consumer assigned all partitions reads every record, touching each payload;
//   pipe     the same consumer plus a producer: the filter's work with librdkafka alone (usage read
//            with from_chars, the reading written unchanged, the producer settings sluice uses), the
//            floor under any runtime that reads, filters and writes these records;
//   streams  sluice::kafka_streams runs the cpu-anomaly topology with a fresh application.id until
//            records_processed() reaches N; the parent then checks the output topic's record count
//            against the count computed while generating the input.
// Every phase reports records/s, CPU utilisation (user + system over wall time, getrusage of the
// child, first record to last) and records per CPU-second. --rtt-ms adds round-trip time to the
// broker for the phases (not for producing the input). It prints each run, the medians and the
// ratio streams/bare.

#include "actors/record_collector.hpp"
#include "bench_support.hpp"
#include "cpu_anomaly.hpp"
#include "embedded_broker.hpp"
#include <sluice/sluice.hpp>

#include <CLI/CLI.hpp>
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using namespace std::chrono;
using clock_type = steady_clock;

constexpr double usage_threshold = 80.0; // the rule of cpu-anomaly, restated for the expected count

// Settings shared by the parent and the phases.
struct options {
  std::int64_t records = 2'000'000;
  int partitions = 0; // 0: max(8, records / 80 000), what the mock broker keeps with zstd
  int repeat = 3;
  std::string compression = "zstd";
  int batch_records = 10'000; // records per produced batch (a run of consecutive records per partition)
  std::uint64_t seed = 1;
  std::string phase;     // "" in the parent; "bare", "pipe" or "streams" in a child
  std::string bootstrap; // child: the parent's broker
  std::string input = "cpu_load_stats_bench";
  std::string output; // child (pipe, streams): topic to write to
  std::string application_id;
  int threads = 0;                   // streams: num.stream.threads (0 = one per core)
  std::vector<std::string> settings; // --set key=value for the streams phase
  std::vector<std::string> compare;  // --compare key=value: a second streams phase with these too
  std::int64_t timeout_s = 300;
  int rtt_ms = 0; // round-trip time the broker adds during the phases
};

using namespace sluice::bench;

// Produces `o.records` cpu readings like sluice-gen's cpu scenario; returns how many have usage > 80.
std::int64_t produce_input(const std::string& bootstrap, const options& o) {
  rd_kafka_t* rk = make_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap},
                                                   {"compression.type", o.compression},
                                                   {"linger.ms", "200"},
                                                   {"batch.size", "1000000"},
                                                   {"batch.num.messages", std::to_string(o.batch_records)},
                                                   {"queue.buffering.max.messages", "1000000"},
                                                   {"enable.idempotence", "true"}});
  static const char* hosts[] = {"doc", "grumpy", "sleepy", "bashful", "happy", "sneezy", "dopey"};
  std::mt19937_64 rng(o.seed);
  std::int64_t over = 0;
  char value[256], key[64];
  for (std::int64_t i = 0; i < o.records; ++i) {
    const char* host = hosts[rng() % 7];
    const auto cpu = 1 + rng() % 5;
    const double usage = 70.0 + 30.0 * static_cast<double>(rng() >> 11) * 0x1.0p-53;
    const std::int64_t occurred_at = 1700000000000 + i * 100;
    if (usage > usage_threshold)
      ++over;
    char usage_text[32]; // shortest form that reads back exactly, as sluice-gen writes it
    *std::to_chars(usage_text, usage_text + sizeof(usage_text) - 1, usage).ptr = '\0';
    const int vn =
      std::snprintf(value, sizeof(value), R"({"hostname": "%s", "cpu": "cpu%d", "usage": %s, "occurred_at": %lld})",
                    host, static_cast<int>(cpu), usage_text, static_cast<long long>(occurred_at));
    const int kn = std::snprintf(key, sizeof(key), R"({"hostname": "%s"})", host);
    // Runs of --batch-records consecutive records per partition make full batches of that many.
    const auto partition = static_cast<std::int32_t>((i / o.batch_records) % o.partitions);
    produce(rk, o.input, partition, {key, static_cast<size_t>(kn)}, {value, static_cast<size_t>(vn)});
    rd_kafka_poll(rk, 0);
  }
  check(rd_kafka_flush(rk, 120000), "flush");
  rd_kafka_destroy(rk);
  return over;
}

// Phase "bare": assign all partitions from the beginning and read N records, touching each byte.
int phase_bare(const options& o) {
  phase_result r;
  if (!bare_consume(o.bootstrap, o.input, o.partitions, o.records, seconds(o.timeout_s), r))
    return 1;
  print_result(r);
  return 0;
}

// Phase "pipe": phase "bare" plus writing each reading with usage > 80 to the output, unchanged, with
// the settings of sluice's output producer.
int phase_pipe(const options& o) {
  auto settings = sluice::producer_defaults();
  settings["bootstrap.servers"] = o.bootstrap;
  rd_kafka_t* producer = make_client(RD_KAFKA_PRODUCER, settings);
  constexpr std::string_view field = "\"usage\": ";
  const auto write_if_over = [&](const rd_kafka_message_t& m) {
    const std::string_view value{static_cast<const char*>(m.payload), m.len};
    double usage = 0;
    if (const auto at = value.find(field); at != std::string_view::npos)
      std::from_chars(value.data() + at + field.size(), value.data() + value.size(), usage);
    if (usage > usage_threshold)
      produce(producer, o.output, m.partition, {static_cast<const char*>(m.key), m.key_len}, value, 1);
    rd_kafka_poll(producer, 0);
  };
  phase_result r;
  const bool complete =
    bare_consume(o.bootstrap, o.input, o.partitions, o.records, seconds(o.timeout_s), r, write_if_over);
  check(rd_kafka_flush(producer, 60000), "flush");
  rd_kafka_destroy(producer);
  if (!complete)
    return 1;
  print_result(r);
  return 0;
}

// Phase "streams": the cpu-anomaly topology in this process until N records went through.
int phase_streams(const options& o) {
  const mark start;
  const auto state_dir = std::filesystem::temp_directory_path() / ("sluice-bench-" + std::to_string(getpid()));
  auto config = phase_config(o.application_id, o.bootstrap, state_dir, o.threads, o.settings);
  sluice::setup_logging(config.log_level);
  sluice::topology_builder builder;
  sluice::apps::build_cpu_anomaly(builder, {o.input, o.output}, {.aggregate = false}); // the filter alone
  sluice::kafka_streams streams{builder.build(), config};
  streams.start();
  std::optional<mark> first;
  const auto deadline = start.at + seconds(o.timeout_s);
  while (streams.records_processed() < o.records && clock_type::now() < deadline && !streams.failed()) {
    if (!first && streams.records_consumed() > 0)
      first.emplace();
    std::this_thread::sleep_for(milliseconds(2));
  }
  const mark last;
  const auto processed = streams.records_processed();
  const auto failure = streams.failure();
  streams.close(); // final commit; outputs are acknowledged before it returns
  std::error_code ec;
  std::filesystem::remove_all(state_dir, ec);
  if (processed < o.records) {
    std::fprintf(stderr, "streams: only %lld of %lld records processed within %llds%s%s\n",
                 static_cast<long long>(processed), static_cast<long long>(o.records),
                 static_cast<long long>(o.timeout_s), failure.empty() ? "" : ": ", failure.c_str());
    return 1;
  }
  print_result(measured(processed, start, first.value_or(start), last));
  return 0;
}

int orchestrate(const options& o) {
  sluice::embedded_broker broker;
  const auto& bootstrap = broker.bootstrap_servers();
  broker.create_topic(o.input, o.partitions);
  std::printf("sluice-bench-throughput: %lld readings, %d partitions, %s batches of %d, %d repeat(s), broker %s\n",
              static_cast<long long>(o.records), o.partitions, o.compression.c_str(), o.batch_records, o.repeat,
              bootstrap.c_str());

  auto t0 = clock_type::now();
  const std::int64_t expected_output = produce_input(bootstrap, o);
  std::printf("produced %lld records in %.1f s; %lld have usage > 80\n", static_cast<long long>(o.records),
              duration<double>(clock_type::now() - t0).count(), static_cast<long long>(expected_output));
  rd_kafka_t* probe = make_client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap}});
  const auto [low, high] = watermark_sums(probe, o.input, o.partitions);
  if (low != 0 || high != o.records)
    throw std::runtime_error("the broker dropped input (low watermarks sum " + std::to_string(low) + ", high " +
                             std::to_string(high) + "): use more partitions or compression");
  t0 = clock_type::now();
  verify_by_consuming(bootstrap, o.input, o.partitions, o.records);
  std::printf("verified: all %lld records read back (%.1f s)\n\n", static_cast<long long>(o.records),
              duration<double>(clock_type::now() - t0).count());

  set_rtt(broker, o.rtt_ms); // the phases see a broker with this round-trip time
  if (o.rtt_ms > 0)
    std::printf("round-trip time %d ms on every broker from now on\n\n", o.rtt_ms);

  std::vector<std::string> common = {"--bootstrap-servers",
                                     bootstrap,
                                     "--records",
                                     std::to_string(o.records),
                                     "--partitions",
                                     std::to_string(o.partitions),
                                     "--input",
                                     o.input,
                                     "--timeout-s",
                                     std::to_string(o.timeout_s)};
  for (const auto& s : o.settings)
    common.insert(common.end(), {"--set", s});
  std::map<std::string, std::vector<double>> figures; // "<phase> <figure>" -> one value per run
  auto keep = [&](const std::string& phase, const std::map<std::string, double>& r) {
    figures[phase + " rate"].push_back(r.at("records") / r.at("seconds"));
    figures[phase + " wall"].push_back(r.at("records") / r.at("wall_seconds"));
    figures[phase + " cpu"].push_back(r.at("cpu_seconds") / r.at("seconds"));
    figures[phase + " per_cpu"].push_back(r.at("records") / r.at("cpu_seconds"));
    figures[phase + " rss"].push_back(r.at("rss_kib") / 1024);
  };
  for (int run = 1; run <= o.repeat; ++run) {
    // bare and pipe, then the streams phase, and with --compare the same phase with those settings on top.
    for (const std::string phase : {"bare", "pipe", "streams", "compare"}) {
      const bool comparing = phase == "compare";
      if (comparing && o.compare.empty())
        break;
      auto args = common;
      args.insert(args.end(), {"--phase", comparing ? "streams" : phase});
      const auto out = o.input + "-" + phase + "-" + std::to_string(run);
      if (phase != "bare") {
        broker.create_topic(out, o.partitions);
        args.insert(args.end(), {"--output", out, "--application-id",
                                 "bench-" + std::to_string(getpid()) + "-" + phase + "-" + std::to_string(run),
                                 "--threads", std::to_string(o.threads)});
      }
      if (comparing)
        for (const auto& s : o.compare)
          args.insert(args.end(), {"--set", s});
      const auto r = run_child(args);
      std::printf("run %d %-8s %s (%9.0f incl. start)  VmHWM %6.1f MiB", run, (phase + ":").c_str(),
                  rate_text(r).c_str(), r.at("records") / r.at("wall_seconds"), r.at("rss_kib") / 1024);
      if (phase != "bare") {
        // At least: under exactly-once the embedded broker's offsets also count transaction markers.
        const auto out_high = watermark_sums(probe, out, o.partitions).second; // offsets count every record
        std::printf("  output %lld/%lld %s", static_cast<long long>(out_high), static_cast<long long>(expected_output),
                    out_high >= expected_output ? "ok" : "MISMATCH");
        if (out_high < expected_output) {
          rd_kafka_destroy(probe);
          std::fprintf(stderr, "\noutput count mismatch: %lld written, %lld expected\n",
                       static_cast<long long>(out_high), static_cast<long long>(expected_output));
          return 1;
        }
      }
      std::printf("\n");
      std::fflush(stdout);
      keep(phase, r);
    }
  }
  rd_kafka_destroy(probe);
  auto m = [&](const std::string& name) { return median(figures.at(name)); };
  std::printf("\nmedian of %d (round-trip time %d ms):\n", o.repeat, o.rtt_ms);
  for (const auto& [phase, label] :
       {std::pair{"bare", "(a) bare consumer:       "}, std::pair{"pipe", "(p) bare pipe:           "},
        std::pair{"streams", "(b) cpu-anomaly (sluice):"}})
    std::printf("  %s %9.0f records/s (%9.0f incl. start)  CPU %4.0f %%  %9.0f records/CPU-s  VmHWM %6.1f MiB\n", label,
                m(std::string{phase} + " rate"), m(std::string{phase} + " wall"), 100 * m(std::string{phase} + " cpu"),
                m(std::string{phase} + " per_cpu"), m(std::string{phase} + " rss"));
  std::printf("  ratio (b)/(a): %.2f records/s, %.2f records/CPU-s\n", m("streams rate") / m("bare rate"),
              m("streams per_cpu") / m("bare per_cpu"));
  std::printf("  ratio (b)/(p): %.2f records/s, %.2f records/CPU-s\n", m("streams rate") / m("pipe rate"),
              m("streams per_cpu") / m("pipe per_cpu"));
  if (!o.compare.empty()) {
    std::string with;
    for (const auto& c : o.compare)
      with += " " + c;
    std::printf("  (c) with%s:\n", with.c_str());
    std::printf("  %s %9.0f records/s (%9.0f incl. start)  CPU %4.0f %%  %9.0f records/CPU-s  VmHWM %6.1f MiB\n",
                "                          ", m("compare rate"), m("compare wall"), 100 * m("compare cpu"),
                m("compare per_cpu"), m("compare rss"));
    std::printf("  ratio (c)/(b): %.2f records/s, %.2f records/CPU-s\n", m("compare rate") / m("streams rate"),
                m("compare per_cpu") / m("streams per_cpu"));
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App cli{"sluice-bench-throughput: cpu-anomaly topology vs a bare librdkafka consumer on the embedded broker"};
  options o;
  cli.add_option("--records", o.records, "readings to produce and process")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  cli
    .add_option("--partitions", o.partitions,
                "partitions of the input (and output) topics; 0 = max(8, records / 80000): the mock broker "
                "keeps only ~5 MiB per partition, ~115 000 of these readings with zstd")
    ->capture_default_str()
    ->check(CLI::NonNegativeNumber);
  cli.add_option("--repeat", o.repeat, "runs of each phase; the median is reported")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  cli.add_option("--compression", o.compression, "compression.type of the input")
    ->capture_default_str()
    ->check(CLI::IsMember({"zstd", "lz4"}));
  cli
    .add_option("--batch-records", o.batch_records,
                "records per batch of the input (a Java producer's default 16 KiB batch.size holds ~150 of these "
                "readings); large batches compress well, small ones are what a consumer meets more often")
    ->capture_default_str()
    ->check(CLI::Range(1, 100000));
  cli.add_option("--seed", o.seed, "random seed of the input")->capture_default_str();
  cli.add_option("--threads", o.threads, "num.stream.threads for the streams phase (0 = one per core)")
    ->capture_default_str();
  cli.add_option("--set", o.settings, "key=value streams setting for the streams phase (repeatable)");
  cli.add_option("--compare", o.compare,
                 "key=value: run the streams phase a second time with this setting on top, reported as (c) "
                 "with its ratio to (b) (repeatable; e.g. processing.guarantee=exactly_once_v2)");
  cli.add_option("--timeout-s", o.timeout_s, "a phase that takes longer fails")->capture_default_str();
  cli.add_option("--rtt-ms", o.rtt_ms, "round-trip time the embedded broker adds to every response during the phases")
    ->capture_default_str()
    ->check(CLI::Range(0, 10000));
  auto* internal = cli.add_option_group("internal", "used when the bench re-executes itself for one phase");
  internal->add_option("--phase", o.phase)->check(CLI::IsMember({"bare", "pipe", "streams"}));
  internal->add_option("--bootstrap-servers", o.bootstrap);
  internal->add_option("--input", o.input);
  internal->add_option("--output", o.output);
  internal->add_option("--application-id", o.application_id);
  CLI11_PARSE(cli, argc, argv);
  if (o.partitions == 0)
    o.partitions = static_cast<int>(std::max<std::int64_t>(8, (o.records + 79'999) / 80'000));
  try {
    if (o.phase == "bare")
      return phase_bare(o);
    if (o.phase == "pipe")
      return phase_pipe(o);
    if (o.phase == "streams")
      return phase_streams(o);
    return orchestrate(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sluice-bench-throughput: %s\n", e.what());
    return 1;
  }
}
