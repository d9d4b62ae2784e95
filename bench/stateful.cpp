// sluice-bench-stateful: a stateful windowed aggregation (30 s tumbling avg + max per key, LevelDB +
// changelog) against a bare librdkafka consumer, then the restore speed of its changelog, on the same
// pre-produced input in an in-process embedded broker.
//
// The parent hosts the broker, produces --records readings over --keys keys (zstd, key i on partition
// i % P, event time advancing so that many windows close; verified by reading them all back), then per
// run starts each phase in a child process (this binary re-executed with --phase):
//   bare      a librdkafka consumer assigned all partitions reads every record, touching each payload;
//   stateful  sluice::kafka_streams runs the aggregation with a fresh application.id and an empty state
//             dir until records_processed() reaches N; the parent then checks the output count against
//             the (key, window) pairs closed by each partition's final stream time;
//   restore   a fresh instance, same application.id, EMPTY state dir: every task restores its window
//             store from the changelog; the runtime's "restored task X store Y: N records in S s" log
//             lines are caught (a spdlog sink) until every task has reported.
// Phases (a) and (b) report records/s, CPU utilisation (user + system over wall time, getrusage of
// the child, first record to last) and records per CPU-second. --rtt-ms adds round-trip time to the
// broker for the phases. It prints each run, the medians and the ratio stateful/bare.

#include "bench_support.hpp"
#include "embedded_broker.hpp"
#include <sluice/sluice.hpp>

#include <CLI/CLI.hpp>
#include <librdkafka/rdkafka.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using namespace std::chrono;
using namespace std::chrono_literals;
using clock_type = steady_clock;
namespace json = boost::json;

constexpr std::int64_t window_ms = 30'000; // tumbling(30s), grace 0
constexpr std::int64_t base_time_ms = 1'700'000'000'000;
constexpr const char* store_base = "usage-30s"; // the aggregation's name; store "usage-30s-store"

struct options {
  std::int64_t records = 1'000'000;
  int keys = 10'000;
  std::int64_t key_interval_ms = 10'000; // each key reports this often: 3 readings per key and window
  int partitions = 0;                    // 0: max(4, ceil(records / 50 000))
  int repeat = 3;
  std::string compression = "zstd";
  std::uint64_t seed = 1;
  std::vector<std::string> settings; // --set key=value for the streams phases
  int threads = 0;
  std::int64_t timeout_s = 600;
  int rtt_ms = 0; // round-trip time the broker adds during the phases
  std::string phase, bootstrap, input = "readings_bench", output, application_id;
};

using namespace sluice::bench;

// What the input implies: (key, window) pairs in all, and those closed by their partition's final
// stream time (window end <= the largest event time of the partition: what emit_final emits).
struct expectation {
  std::int64_t windows = 0, closed = 0;
};

// Reading i: key k = i % keys ("host-%05d", partition k % P), event time base + i * interval / keys, so
// every key reports every key_interval_ms and each partition's event time never goes backwards.
expectation produce_input(const std::string& bootstrap, const options& o) {
  rd_kafka_t* rk = make_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap},
                                                   {"compression.type", o.compression},
                                                   {"linger.ms", "200"},
                                                   {"batch.size", "1000000"},
                                                   {"batch.num.messages", "100000"},
                                                   {"queue.buffering.max.messages", "1000000"},
                                                   {"enable.idempotence", "true"}});
  std::mt19937_64 rng(o.seed);
  std::vector<std::int64_t> last_start(static_cast<size_t>(o.keys), INT64_MIN);
  std::vector<std::map<std::int64_t, std::int64_t>> starts(static_cast<size_t>(o.partitions)); // start -> keys
  std::vector<std::int64_t> stream_time(static_cast<size_t>(o.partitions), INT64_MIN);
  char value[160], key[32], usage_text[32];
  for (std::int64_t i = 0; i < o.records; ++i) {
    const auto k = static_cast<int>(i % o.keys);
    const auto partition = k % o.partitions;
    const std::int64_t ts = base_time_ms + i * o.key_interval_ms / o.keys;
    const std::int64_t start = ts - ts % window_ms; // ts > 0
    if (last_start[static_cast<size_t>(k)] != start) {
      last_start[static_cast<size_t>(k)] = start;
      ++starts[static_cast<size_t>(partition)][start];
    }
    stream_time[static_cast<size_t>(partition)] = ts;
    const double usage = 100.0 * static_cast<double>(rng() >> 11) * 0x1.0p-53;
    *std::to_chars(usage_text, usage_text + sizeof(usage_text) - 1, usage).ptr = '\0';
    const int kn = std::snprintf(key, sizeof(key), "host-%05d", k);
    const int vn = std::snprintf(value, sizeof(value), R"({"host": "%s", "usage": %s, "occurred_at": %lld})", key,
                                 usage_text, static_cast<long long>(ts));
    produce(rk, o.input, partition, {key, static_cast<size_t>(kn)}, {value, static_cast<size_t>(vn)});
    rd_kafka_poll(rk, 0);
  }
  check(rd_kafka_flush(rk, 120000), "flush");
  rd_kafka_destroy(rk);
  expectation e;
  for (size_t p = 0; p < starts.size(); ++p)
    for (const auto& [start, keys] : starts[p]) {
      e.windows += keys;
      if (start + window_ms <= stream_time[p])
        e.closed += keys;
    }
  return e;
}

// Phase "bare": as sluice-bench-throughput's, the ceiling.
int phase_bare(const options& o) {
  phase_result r;
  if (!bare_consume(o.bootstrap, o.input, o.partitions, o.records, seconds(o.timeout_s), r))
    return 1;
  print_result(r);
  return 0;
}

sluice::topology build_topology(const options& o) {
  using namespace sluice;
  topology_builder b;
  b.stream<serdes::string, serdes::json>(o.input, consumed<json::value>{timestamps::json_field_ms("occurred_at")})
    .group_by_key()
    .windowed_by(tumbling(30s).emit_final())
    .agg({agg::mean("usage", "usage_avg"), agg::max("usage", "usage_max")}, store_base)
    .to_rows()
    .to(o.output);
  return b.build();
}

sluice::streams_config make_config(const options& o, const std::filesystem::path& state_dir) {
  // The mock broker only lets the restore instance join once the stateful instance's member timed
  // out (its LeaveGroup does not end the wait): 45 s by default. --set comes after, and wins.
  std::vector<std::string> settings{"kafka.consumer.session.timeout.ms=6000"};
  settings.insert(settings.end(), o.settings.begin(), o.settings.end());
  return phase_config(o.application_id, o.bootstrap, state_dir, o.threads, settings);
}

std::filesystem::path fresh_state_dir() {
  auto dir = std::filesystem::temp_directory_path() / ("sluice-bench-stateful-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// Phase "stateful": the aggregation in this process until N records went through.
int phase_stateful(const options& o) {
  const mark start;
  const auto state_dir = fresh_state_dir();
  const auto config = make_config(o, state_dir);
  sluice::setup_logging(config.log_level);
  sluice::kafka_streams streams{build_topology(o), config};
  streams.start();
  std::optional<mark> first;
  const auto deadline = start.at + seconds(o.timeout_s);
  while (streams.records_processed() < o.records && clock_type::now() < deadline && !streams.failed()) {
    if (!first && streams.records_consumed() > 0)
      first.emplace();
    std::this_thread::sleep_for(2ms);
  }
  const mark last;
  const auto processed = streams.records_processed();
  const auto failure = streams.failure();
  streams.close(); // final commit: outputs and changelog records acknowledged before it returns
  std::error_code ec;
  std::filesystem::remove_all(state_dir, ec);
  if (processed < o.records) {
    std::fprintf(stderr, "stateful: only %lld of %lld records processed%s%s\n", static_cast<long long>(processed),
                 static_cast<long long>(o.records), failure.empty() ? "" : ": ", failure.c_str());
    return 1;
  }
  print_result(measured(processed, start, first.value_or(start), last));
  return 0;
}

// Catches the runtime's "assigned ..." and "restored task X store Y: N records in S s (R records/s)" lines.
class restore_sink final : public spdlog::sinks::base_sink<std::mutex> {
public:
  struct store {
    std::int64_t records;
    double seconds;
    clock_type::time_point end;
  };
  std::vector<store> stores() {
    std::lock_guard lock{m_};
    return stores_;
  }
  std::optional<clock_type::time_point> assigned() {
    std::lock_guard lock{m_};
    return assigned_;
  }
  int count() const { return count_.load(); }

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const std::string text(msg.payload.data(), msg.payload.size());
    const auto now = clock_type::now();
    std::lock_guard lock{m_};
    if (text.starts_with("assigned ") && !assigned_)
      assigned_ = now;
    long long records = 0;
    double seconds = 0;
    const auto colon = text.find(": ");
    if (!text.starts_with("restored task ") || colon == std::string::npos ||
        std::sscanf(text.c_str() + colon + 2, "%lld records in %lf s", &records, &seconds) != 2)
      return;
    stores_.push_back({records, seconds, now});
    ++count_;
  }
  void flush_() override {}

private:
  std::mutex m_;
  std::vector<store> stores_;
  std::optional<clock_type::time_point> assigned_;
  std::atomic<int> count_{0};
};

// Phase "restore": same application.id, empty state dir; waits until every task (one per partition)
// reported its store restored, then closes. The committed offsets are at the end: nothing to process.
int phase_restore(const options& o) {
  const mark start;
  const auto t_start = start.at;
  const auto state_dir = fresh_state_dir();
  auto config = make_config(o, state_dir);
  config.log_level = "info";
  sluice::setup_logging(config.log_level);
  auto sink = std::make_shared<restore_sink>();
  for (auto& s : spdlog::default_logger()->sinks())
    s->set_level(spdlog::level::warn); // stderr stays quiet; the sink sees info
  spdlog::default_logger()->sinks().push_back(sink);
  sluice::kafka_streams streams{build_topology(o), config};
  streams.start();
  const auto deadline = t_start + seconds(o.timeout_s);
  while (sink->count() < o.partitions && clock_type::now() < deadline && !streams.failed())
    std::this_thread::sleep_for(2ms);
  const auto failure = streams.failure();
  streams.close();
  std::error_code ec;
  std::filesystem::remove_all(state_dir, ec);
  const auto stores = sink->stores();
  if (static_cast<int>(stores.size()) < o.partitions) {
    std::fprintf(stderr, "restore: %zu of %d stores restored%s%s\n", stores.size(), o.partitions,
                 failure.empty() ? "" : ": ", failure.c_str());
    return 1;
  }
  std::int64_t total = 0;
  auto first = clock_type::time_point::max(), last = clock_type::time_point::min();
  std::vector<double> rates;
  for (const auto& s : stores) {
    total += s.records;
    first = std::min(first, s.end - duration_cast<clock_type::duration>(duration<double>(s.seconds)));
    last = std::max(last, s.end);
    rates.push_back(s.seconds > 0 ? static_cast<double>(s.records) / s.seconds : 0);
  }
  std::sort(rates.begin(), rates.end());
  const auto assigned = sink->assigned().value_or(t_start);
  phase_result r;
  r.records = total;
  r.seconds = duration<double>(last - first).count();
  r.wall_seconds = duration<double>(last - t_start).count();
  r.cpu_seconds = cpu_seconds() - start.cpu; // the whole phase: restores run on their own threads
  r.rss_kib = vm_hwm_kib();
  print_result(r, {{"from_assigned_seconds", duration<double>(last - assigned).count()},
                   {"stores", static_cast<double>(stores.size())},
                   {"store_median_rate", rates[rates.size() / 2]}});
  return 0;
}

int orchestrate(const options& o) {
  sluice::embedded_broker broker;
  const auto& bootstrap = broker.bootstrap_servers();
  broker.create_topic(o.input, o.partitions);
  std::printf("sluice-bench-stateful: %lld readings, %d keys (one reading per key every %lld ms), %d partitions, "
              "%s, %d repeat(s), broker %s\n",
              static_cast<long long>(o.records), o.keys, static_cast<long long>(o.key_interval_ms), o.partitions,
              o.compression.c_str(), o.repeat, bootstrap.c_str());
  auto t0 = clock_type::now();
  const auto expected = produce_input(bootstrap, o);
  std::printf("produced %lld records in %.1f s: %lld (key, 30 s window) pairs, %lld closed by the final stream "
              "time of their partition\n",
              static_cast<long long>(o.records), duration<double>(clock_type::now() - t0).count(),
              static_cast<long long>(expected.windows), static_cast<long long>(expected.closed));
  rd_kafka_t* probe = make_client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap}});
  if (const auto [low, high] = watermark_sums(probe, o.input, o.partitions); low != 0 || high != o.records)
    throw std::runtime_error("the broker dropped input (low watermarks sum " + std::to_string(low) + ", high " +
                             std::to_string(high) + "): use more partitions");
  t0 = clock_type::now();
  verify_by_consuming(bootstrap, o.input, o.partitions, o.records);
  std::printf("verified: all %lld records read back (%.1f s)\n\n", static_cast<long long>(o.records),
              duration<double>(clock_type::now() - t0).count());
  set_rtt(broker, o.rtt_ms); // the phases see a broker with this round-trip time
  if (o.rtt_ms > 0)
    std::printf("round-trip time %d ms on every broker from now on\n\n", o.rtt_ms);
  std::fflush(stdout);

  std::vector<std::string> common = {"--bootstrap-servers",
                                     bootstrap,
                                     "--records",
                                     std::to_string(o.records),
                                     "--partitions",
                                     std::to_string(o.partitions),
                                     "--input",
                                     o.input,
                                     "--timeout-s",
                                     std::to_string(o.timeout_s),
                                     "--threads",
                                     std::to_string(o.threads)};
  for (const auto& s : o.settings)
    common.insert(common.end(), {"--set", s});
  std::map<std::string, std::vector<double>> figures;
  for (int run = 1; run <= o.repeat; ++run) {
    auto args = common;
    args.insert(args.end(), {"--phase", "bare"});
    auto r = run_child(args);
    const double bare = r["records"] / r["seconds"];
    std::printf("run %d bare:     %s (%9.0f incl. start)  VmHWM %6.1f MiB\n", run, rate_text(r).c_str(),
                r["records"] / r["wall_seconds"], r["rss_kib"] / 1024);
    std::fflush(stdout);
    figures["bare"].push_back(bare);
    figures["bare_wall"].push_back(r["records"] / r["wall_seconds"]);
    figures["bare_rss"].push_back(r["rss_kib"] / 1024);
    figures["bare_cpu"].push_back(r["cpu_seconds"] / r["seconds"]);
    figures["bare_per_cpu"].push_back(r["records"] / r["cpu_seconds"]);

    // A fresh application: its output topic and changelog (P partitions: the embedded broker would
    // auto-create it with 4) created empty.
    const auto app = "bench-stateful-" + std::to_string(getpid()) + "-" + std::to_string(run);
    const auto out = o.input + "-out-" + std::to_string(run);
    const auto changelog = app + "-" + store_base + "-store-changelog";
    broker.create_topic(out, o.partitions);
    broker.create_topic(changelog, o.partitions);
    args = common;
    args.insert(args.end(), {"--phase", "stateful", "--output", out, "--application-id", app});
    r = run_child(args);
    const double stateful = r["records"] / r["seconds"];
    const auto out_high = watermark_sums(probe, out, o.partitions).second; // offsets count every record
    // Store traffic: changelog records written per input record (high watermarks count every record).
    const auto [cl_low, cl_high] = watermark_sums(probe, changelog, o.partitions);
    const double changelog_per_record = static_cast<double>(cl_high) / static_cast<double>(o.records);
    std::printf("run %d stateful: %s (%9.0f incl. start)  VmHWM %6.1f MiB  output %lld/%lld %s  changelog %lld "
                "records (%.3f per input record)\n",
                run, rate_text(r).c_str(), r["records"] / r["wall_seconds"], r["rss_kib"] / 1024,
                static_cast<long long>(out_high), static_cast<long long>(expected.closed),
                out_high == expected.closed ? "ok" : "MISMATCH", static_cast<long long>(cl_high), changelog_per_record);
    std::fflush(stdout);
    if (out_high != expected.closed)
      throw std::runtime_error("output count mismatch: " + std::to_string(out_high) + " rows written, " +
                               std::to_string(expected.closed) + " windows closed");
    figures["stateful"].push_back(stateful);
    figures["stateful_wall"].push_back(r["records"] / r["wall_seconds"]);
    figures["stateful_rss"].push_back(r["rss_kib"] / 1024);
    figures["stateful_cpu"].push_back(r["cpu_seconds"] / r["seconds"]);
    figures["stateful_per_cpu"].push_back(r["records"] / r["cpu_seconds"]);
    figures["changelog_per_record"].push_back(changelog_per_record);

    args = common;
    args.insert(args.end(), {"--phase", "restore", "--output", out, "--application-id", app});
    r = run_child(args);
    const double restore = r["records"] / r["seconds"];
    std::printf("run %d restore:  %9.0f records/s (%9.0f from assignment, %9.0f incl. start; per store median "
                "%.0f)  %lld records in %d stores (changelog %lld..%lld) %s  CPU %.1f s  VmHWM %6.1f MiB\n",
                run, restore, r["records"] / r["from_assigned_seconds"], r["records"] / r["wall_seconds"],
                r["store_median_rate"], static_cast<long long>(r["records"]), static_cast<int>(r["stores"]),
                static_cast<long long>(cl_low), static_cast<long long>(cl_high),
                static_cast<std::int64_t>(r["records"]) == cl_high - cl_low ? "ok" : "MISMATCH", r["cpu_seconds"],
                r["rss_kib"] / 1024);
    std::fflush(stdout);
    if (static_cast<std::int64_t>(r["records"]) != cl_high - cl_low)
      throw std::runtime_error("restored " + std::to_string(static_cast<std::int64_t>(r["records"])) +
                               " records, the changelog holds " + std::to_string(cl_high - cl_low));
    figures["restore"].push_back(restore);
    figures["restore_assigned"].push_back(r["records"] / r["from_assigned_seconds"]);
    figures["restore_wall"].push_back(r["records"] / r["wall_seconds"]);
  }
  rd_kafka_destroy(probe);
  const auto m = [&](const char* name) { return median(figures[name]); };
  std::printf("\nmedian of %d (round-trip time %d ms):\n", o.repeat, o.rtt_ms);
  std::printf("  (a) bare consumer:            %9.0f records/s (%9.0f incl. start)  CPU %4.0f %%  %9.0f records/CPU-s  "
              "VmHWM %6.1f MiB\n",
              m("bare"), m("bare_wall"), 100 * m("bare_cpu"), m("bare_per_cpu"), m("bare_rss"));
  std::printf("  (b) 30 s avg+max per key:     %9.0f records/s (%9.0f incl. start)  CPU %4.0f %%  %9.0f records/CPU-s  "
              "VmHWM %6.1f MiB\n",
              m("stateful"), m("stateful_wall"), 100 * m("stateful_cpu"), m("stateful_per_cpu"), m("stateful_rss"));
  std::printf("  ratio (b)/(a): %.2f\n", m("stateful") / m("bare"));
  std::printf("  changelog records per input record: %.3f\n", m("changelog_per_record"));
  std::printf("  (c) restore from changelog:   %9.0f records/s (%9.0f from assignment, %9.0f incl. start)\n",
              m("restore"), m("restore_assigned"), m("restore_wall"));
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App cli{"sluice-bench-stateful: 30 s tumbling avg+max per key (LevelDB + changelog) vs a bare librdkafka "
               "consumer, and changelog restore speed, on the embedded broker"};
  options o;
  cli.add_option("--records", o.records, "readings to produce and process")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  cli.add_option("--keys", o.keys, "distinct keys (hosts)")->capture_default_str()->check(CLI::PositiveNumber);
  cli.add_option("--key-interval-ms", o.key_interval_ms, "event time between two readings of a key")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  cli
    .add_option("--partitions", o.partitions,
                "partitions of the input, output and changelog topics; 0 = max(4, records / 50 000), so that the "
                "mock broker's ~5 MiB per partition holds every changelog record")
    ->capture_default_str()
    ->check(CLI::NonNegativeNumber);
  cli.add_option("--repeat", o.repeat, "runs of each phase; the median is reported")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  cli.add_option("--compression", o.compression, "compression.type of the input")
    ->capture_default_str()
    ->check(CLI::IsMember({"zstd", "lz4"}));
  cli.add_option("--seed", o.seed, "random seed of the input")->capture_default_str();
  cli.add_option("--set", o.settings, "key=value streams setting for the stateful and restore phases (repeatable)");
  cli.add_option("--threads", o.threads, "num.stream.threads (0 = one per core)")->capture_default_str();
  cli.add_option("--timeout-s", o.timeout_s, "a phase that takes longer fails")->capture_default_str();
  cli.add_option("--rtt-ms", o.rtt_ms, "round-trip time the embedded broker adds to every response during the phases")
    ->capture_default_str()
    ->check(CLI::Range(0, 10000));
  auto* internal = cli.add_option_group("internal", "used when the bench re-executes itself for one phase");
  internal->add_option("--phase", o.phase)->check(CLI::IsMember({"bare", "stateful", "restore"}));
  internal->add_option("--bootstrap-servers", o.bootstrap);
  internal->add_option("--input", o.input);
  internal->add_option("--output", o.output);
  internal->add_option("--application-id", o.application_id);
  CLI11_PARSE(cli, argc, argv);
  if (o.partitions == 0)
    o.partitions = static_cast<int>(std::max<std::int64_t>(4, (o.records + 49'999) / 50'000));
  if (o.keys < o.partitions || o.records < o.keys) {
    std::fprintf(stderr, "sluice-bench-stateful: want partitions <= keys <= records (every task has state)\n");
    return 1;
  }
  try {
    if (o.phase == "bare")
      return phase_bare(o);
    if (o.phase == "stateful")
      return phase_stateful(o);
    if (o.phase == "restore")
      return phase_restore(o);
    return orchestrate(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sluice-bench-stateful: %s\n", e.what());
    return 1;
  }
}
