// sluice-bench-soak: one stateful app at a steady input rate for a long time, on the embedded broker,
// watching its memory, CPU and end-to-end latency minute by minute.
//
// The parent hosts the broker and starts the app in a child process (this binary re-executed with
// --phase app), so that the RSS read from /proc/<child>/status is the app's own:
//   app   sluice::kafka_streams runs a 60 s tumbling count + avg + max per key with current emission
//         (every input record updates its window and writes one row), windows kept 5 minutes (so
//         that the state reaches a steady size), LevelDB + changelog, until
//         SIGTERM; it prints "ready" once it has all partitions and a "result ..." line at the end.
// Once the app is ready, the parent produces --rate readings per second, paced (record i at i / rate
// seconds), each carrying the time it was produced ("sent_us", microseconds on the parent's steady
// clock). The aggregation keeps max(sent_us) per window, and a key's readings are produced in order,
// so each output row carries the produce time of the reading that caused it. A consumer in the parent
// reads the output as it comes: latency = time the row is read - that produce time.
// Every minute: records in and out so far, lag (in - out), the child's VmRSS (at the minute mark, and
// the mean and max of one sample a second over the minute; its anonymous and file-backed parts) and
// VmHWM, the bytes its shared state caches hold (scraped from its /metrics), its CPU utilisation over
// the minute (/proc/<child>/stat), the size of its state directory on disk and the latency
// percentiles of the rows read in the minute. At the end: the drain, the RSS of the first and the
// last minute, the least-squares slopes of the per-minute mean and max RSS once the state holds
// steady, as they are and less the caches (bounded: they fill up to their capacity).

#include "actors/http_server.hpp"
#include "bench_support.hpp"
#include "embedded_broker.hpp"
#include <sluice/sluice.hpp>

#include <CLI/CLI.hpp>
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>
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
using namespace sluice::bench;

constexpr const char* store_base = "soak-window"; // the aggregation's name; store "soak-window-store"

// Settings shared by the parent and the app phase.
struct options {
  int minutes = 30;
  int rate = 5000;
  int partitions = 8;
  int keys = 10'000;
  int window_s = 60;
  int retention_s = 300; // windows kept this long behind the newest, so the state stops growing
  std::string compression = "zstd";
  std::uint64_t seed = 1;
  std::vector<std::string> settings; // --set key=value for the app
  int threads = 0;
  std::string phase, bootstrap, input = "readings_soak", output = "readings_soak-out", application_id;
};

sluice::topology build_topology(const options& o) {
  using namespace sluice;
  topology_builder b;
  b.stream<serdes::string, serdes::json>(o.input, consumed<json::value>{timestamps::json_field_ms("occurred_at")})
    .group_by_key()
    .windowed_by(tumbling(seconds(o.window_s)).retain(seconds(o.retention_s)).emit_current())
    .agg({agg::count("readings"), agg::mean("usage", "usage_avg"), agg::max("usage", "usage_max"),
          agg::max("sent_us", "sent_us")},
         store_base)
    .to_rows()
    .to(o.output);
  return b.build();
}

// The state directory of the app running as process `pid`.
std::filesystem::path state_dir_of(pid_t pid) {
  return std::filesystem::temp_directory_path() / ("sluice-bench-soak-" + std::to_string(pid));
}

// Bytes in the files under `dir` (0 if it is gone; files may vanish while it counts).
std::uintmax_t directory_bytes(const std::filesystem::path& dir) {
  std::uintmax_t bytes = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    if (std::error_code size_ec; it->is_regular_file(size_ec)) {
      const auto size = it->file_size(size_ec);
      bytes += size_ec ? 0 : size;
    }
  return bytes;
}

// Phase "app": the aggregation in this process until SIGTERM (or a failure).
int phase_app(const options& o) {
  const auto state_dir = state_dir_of(getpid());
  std::filesystem::remove_all(state_dir);
  std::filesystem::create_directories(state_dir);
  auto config = phase_config(o.application_id, o.bootstrap, state_dir, o.threads, o.settings);
  config.set("application.server", "localhost:0"); // the parent scrapes the caches' fill from /metrics
  sluice::setup_logging(config.log_level);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr); // before start: every thread inherits the mask
  sluice::kafka_streams streams{build_topology(o), config};
  streams.start();
  const auto ready_by = clock_type::now() + 120s;
  bool ready = false;
  const timespec tick{0, 100'000'000};
  while (!streams.failed() && sigtimedwait(&signals, nullptr, &tick) < 0) {
    if (!ready && streams.assigned_partitions() == o.partitions) {
      ready = true;
      std::printf("ready %s\n", streams.http_address().c_str());
      std::fflush(stdout);
    }
    if (!ready && clock_type::now() > ready_by) {
      std::fprintf(stderr, "app: %d of %d partitions assigned after 120 s\n", streams.assigned_partitions(),
                   o.partitions);
      break;
    }
  }
  const auto consumed = streams.records_consumed();
  const auto processed = streams.records_processed();
  streams.close();
  const auto failure = streams.failure();
  std::error_code ec;
  std::filesystem::remove_all(state_dir, ec);
  if (!failure.empty() || !ready) {
    std::fprintf(stderr, "app: %s\n", failure.empty() ? "never ready" : failure.c_str());
    return 1;
  }
  phase_result r;
  r.records = processed;
  r.rss_kib = vm_hwm_kib();
  r.cpu_seconds = cpu_seconds();
  print_result(r, {{"consumed", static_cast<double>(consumed)}});
  return 0;
}

// Microseconds on the steady clock since `origin`.
std::int64_t micros_since(clock_type::time_point origin) {
  return duration_cast<microseconds>(clock_type::now() - origin).count();
}

// Produces o.rate readings per second from `origin` on until `stop`: reading i (key i mod keys, on
// partition key mod P) is due i / rate seconds after origin; a producer that fell behind catches up
// at once, so the count stays on schedule. Event time is wall-clock time at origin plus the elapsed
// steady time (never backwards).
class paced_producer {
public:
  /// Starts producing to `o.input` at `o.rate` records/s; `origin` is the zero of "sent_us".
  paced_producer(const std::string& bootstrap, const options& o, clock_type::time_point origin)
      : o_(o), origin_(origin), rk_(make_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap},
                                                                    {"compression.type", o.compression},
                                                                    {"linger.ms", "5"},
                                                                    {"enable.idempotence", "true"}})),
        thread_([this] { run(); }) {}
  /// Stops producing and flushes what was produced (errors unreported: call `stop()` to see them).
  ~paced_producer() {
    try {
      stop();
    } catch (const std::exception&) {
    }
  }
  paced_producer(const paced_producer&) = delete;
  paced_producer& operator=(const paced_producer&) = delete;

  /// Readings handed to the producer so far.
  std::int64_t produced() const { return produced_.load(); }
  /// Stops producing, waits for every reading to be acknowledged; throws if some were not.
  void stop() {
    if (!thread_.joinable())
      return;
    stopping_ = true;
    thread_.join();
    const auto err = rd_kafka_flush(rk_, 60000);
    rd_kafka_destroy(rk_);
    if (!error_.empty())
      throw std::runtime_error(error_);
    check(err, "flush");
  }

private:
  void run() {
    try {
      produce_on_schedule();
    } catch (const std::exception& e) {
      error_ = e.what(); // read by stop() after the join
    }
  }

  void produce_on_schedule() {
    const auto origin_ms =
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count() - micros_since(origin_) / 1000;
    std::mt19937_64 rng(o_.seed);
    char value[192], key[32], usage_text[32];
    std::int64_t i = 0;
    while (!stopping_) {
      const auto due = static_cast<std::int64_t>(duration<double>(clock_type::now() - origin_).count() * o_.rate);
      for (; i < due && !stopping_; ++i) {
        const auto k = static_cast<int>(i % o_.keys);
        const double usage = 100.0 * static_cast<double>(rng() >> 11) * 0x1.0p-53;
        *std::to_chars(usage_text, usage_text + sizeof(usage_text) - 1, usage).ptr = '\0';
        const auto sent_us = micros_since(origin_);
        const int kn = std::snprintf(key, sizeof(key), "host-%05d", k);
        const int vn = std::snprintf(
          value, sizeof(value), R"({"host": "%s", "usage": %s, "occurred_at": %lld, "sent_us": %lld})", key, usage_text,
          static_cast<long long>(origin_ms + sent_us / 1000), static_cast<long long>(sent_us));
        produce(rk_, o_.input, k % o_.partitions, {key, static_cast<size_t>(kn)}, {value, static_cast<size_t>(vn)},
                10); // paced: a short wait keeps the schedule
        produced_.store(i + 1);
      }
      rd_kafka_poll(rk_, 1); // delivery reports; the ~1 ms tick of the pacing
    }
  }

  const options& o_;
  clock_type::time_point origin_;
  rd_kafka_t* rk_;
  std::atomic<std::int64_t> produced_{0};
  std::atomic<bool> stopping_{false};
  std::string error_; // why production stopped early, if it did
  std::thread thread_;
};

// Reads the output topic as it is written and records, per row, the time from its reading's
// production ("sent_us") to now.
class latency_reader {
public:
  /// Starts reading `o.output` from its beginning; `origin` is the zero of "sent_us".
  latency_reader(const std::string& bootstrap, const options& o, clock_type::time_point origin)
      : o_(o), origin_(origin),
        rk_(make_client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap},
                                            {"group.id", "bench-soak-reader"},
                                            {"enable.auto.commit", "false"},
                                            // a fetch that finds nothing new waits this long on the
                                            // embedded broker (default 500): it would count as latency
                                            {"fetch.wait.max.ms", "10"}})) {
    assign_from_beginning(rk_, o.output, o.partitions);
    thread_ = std::thread([this] { run(); });
  }
  /// Stops reading.
  ~latency_reader() {
    stopping_ = true;
    thread_.join();
    rd_kafka_consumer_close(rk_);
    rd_kafka_destroy(rk_);
  }
  latency_reader(const latency_reader&) = delete;
  latency_reader& operator=(const latency_reader&) = delete;

  /// Output rows read so far.
  std::int64_t rows() const { return rows_.load(); }
  /// Rows whose value had no readable "sent_us", so far.
  std::int64_t unreadable() const { return unreadable_.load(); }
  /// The latencies (ms) of the rows read since the previous call.
  std::vector<double> take_latencies() {
    std::vector<double> taken;
    std::lock_guard lock{m_};
    taken.swap(latencies_ms_);
    return taken;
  }

private:
  void run() {
    json::parser parser;
    while (!stopping_) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 100);
      if (m == nullptr)
        continue;
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const auto now_us = micros_since(origin_);
        std::error_code ec;
        parser.reset();
        parser.write(static_cast<const char*>(m->payload), m->len, ec);
        const json::value row = ec ? json::value{} : parser.release();
        const auto* sent = row.is_object() ? row.as_object().if_contains("sent_us") : nullptr;
        if (sent != nullptr && sent->is_number()) {
          const auto latency_ms = static_cast<double>(now_us - sent->to_number<std::int64_t>()) / 1000.0;
          std::lock_guard lock{m_};
          latencies_ms_.push_back(latency_ms);
        } else {
          ++unreadable_;
        }
        ++rows_;
      } else {
        std::fprintf(stderr, "reader: %s\n", rd_kafka_message_errstr(m));
      }
      rd_kafka_message_destroy(m);
    }
  }

  const options& o_;
  clock_type::time_point origin_;
  rd_kafka_t* rk_;
  std::atomic<std::int64_t> rows_{0}, unreadable_{0};
  std::atomic<bool> stopping_{false};
  std::mutex m_;
  std::vector<double> latencies_ms_;
  std::thread thread_;
};

// The q-quantile (0..1) of `sorted` by nearest rank; NaN if empty.
double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty())
    return NAN;
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

// The least-squares slope of ys over xs (same size, at least two distinct xs).
double least_squares_slope(const std::vector<double>& xs, const std::vector<double>& ys) {
  const auto n = static_cast<double>(xs.size());
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    sx += xs[i];
    sy += ys[i];
    sxx += xs[i] * xs[i];
    sxy += xs[i] * ys[i];
  }
  return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

// One line of the per-minute table.
struct minute_figures {
  int minute = 0;
  std::int64_t in = 0, out = 0;
  double rss_mib = 0, hwm_mib = 0, anon_mib = 0, file_mib = 0, cpu_percent = 0, state_mib = 0;
  double rss_mean_mib = 0, rss_max_mib = 0; // of VmRSS sampled every second in the minute
  double caches_mib = 0;                    // the shared state caches' bytes at the minute mark (block + record)
  double heap_mean_mib = 0;                 // the allocator's bytes in use, sampled every second in the minute
  double beyond_heap_mean_mib = 0;          // RssAnon less those, the same way: what the allocator keeps resident
  double free_mib = 0;                      // the allocator's bytes kept free, at the minute mark
  double p50 = NAN, p90 = NAN, p99 = NAN, max = NAN;
  size_t rows = 0; // rows read in the minute
};

// Every sample of the instance's /metrics at `server`, summed by metric name (over its labels).
std::map<std::string, double> metric_sums(const std::string& server) {
  std::istringstream lines{sluice::http_get(server, "/metrics", 10s).body};
  std::map<std::string, double> sums;
  for (std::string line; std::getline(lines, line);)
    if (!line.empty() && line[0] != '#')
      sums[line.substr(0, line.find_first_of("{ "))] += std::stod(line.substr(line.rfind(' ') + 1));
  return sums;
}

int orchestrate(const options& o) {
  sluice::embedded_broker broker;
  const auto& bootstrap = broker.bootstrap_servers();
  const auto app = "bench-soak-" + std::to_string(getpid());
  // The output and the changelog get P partitions (the embedded broker would auto-create 4).
  broker.create_topic(o.input, o.partitions);
  broker.create_topic(o.output, o.partitions);
  broker.create_topic(app + "-" + store_base + "-store-changelog", o.partitions);
  std::printf("sluice-bench-soak: %d min at %d readings/s over %d keys, %d partitions, %s; app: %d s tumbling "
              "count+avg+max per key kept %d s, current emission (one row per reading), LevelDB + changelog; "
              "broker %s\n",
              o.minutes, o.rate, o.keys, o.partitions, o.compression.c_str(), o.window_s, o.retention_s,
              bootstrap.c_str());
  std::fflush(stdout);

  std::vector<std::string> args = {"--phase",
                                   "app",
                                   "--bootstrap-servers",
                                   bootstrap,
                                   "--application-id",
                                   app,
                                   "--partitions",
                                   std::to_string(o.partitions),
                                   "--input",
                                   o.input,
                                   "--output",
                                   o.output,
                                   "--window-s",
                                   std::to_string(o.window_s),
                                   "--retention-s",
                                   std::to_string(o.retention_s),
                                   "--threads",
                                   std::to_string(o.threads)};
  for (const auto& s : o.settings)
    args.insert(args.end(), {"--set", s});
  const auto started = clock_type::now();
  child_process child{args};
  std::optional<std::string> line;
  for (line = child.read_line(); !line || !line->starts_with("ready "); line = child.read_line())
    if (!line)
      throw std::runtime_error("the app stopped before it was ready (status " + std::to_string(child.wait()) + ")");
  auto server = line->substr(std::string_view{"ready http://"}.size()); // "localhost:1234/"
  server.pop_back();
  std::printf("app pid %d ready (all %d partitions assigned) after %.1f s, VmRSS %.1f MiB\n\n", child.pid(),
              o.partitions, duration<double>(clock_type::now() - started).count(),
              static_cast<double>(memory_of(child.pid()).rss_kib) / 1024);
  std::printf("%6s %10s %10s %7s %9s %8s %8s %9s %8s %8s %10s %8s %9s %8s %5s %9s   %8s %8s %8s %8s  (latency ms, "
              "rows read in the minute)\n",
              "minute", "in", "out", "lag", "VmRSS MiB", "mean MiB", "max MiB", "VmHWM MiB", "anon MiB", "file MiB",
              "caches MiB", "heap MiB", "+anon MiB", "free MiB", "CPU %", "state MiB", "p50", "p90", "p99", "max");
  std::fflush(stdout);

  const auto origin = clock_type::now();
  latency_reader reader{bootstrap, o, origin};
  paced_producer producer{bootstrap, o, origin};
  std::vector<minute_figures> table;
  double caches_capacity_mib = 0;
  double cpu_before = cpu_seconds_of(child.pid());
  auto minute_start = origin;
  for (int minute = 1; minute <= o.minutes; ++minute) {
    minute_figures f;
    f.minute = minute;
    // VmRSS and the heap in use every second: the stores' memtables make them a sawtooth that one
    // sample a minute aliases.
    int samples = 0;
    for (auto t = origin + std::chrono::minutes(minute - 1) + 1s; t <= origin + std::chrono::minutes(minute); t += 1s) {
      std::this_thread::sleep_until(t);
      const auto sample = memory_of(child.pid());
      if (sample.rss_kib < 0)
        continue;
      const double mib = static_cast<double>(sample.rss_kib) / 1024;
      const double heap = metric_sums(server)["sluice_heap_in_use_bytes"] / (1 << 20);
      f.rss_mean_mib += mib;
      f.rss_max_mib = std::max(f.rss_max_mib, mib);
      f.heap_mean_mib += heap;
      f.beyond_heap_mean_mib += static_cast<double>(sample.anon_kib) / 1024 - heap;
      ++samples;
    }
    f.rss_mean_mib /= std::max(1, samples);
    f.heap_mean_mib /= std::max(1, samples);
    f.beyond_heap_mean_mib /= std::max(1, samples);
    f.in = producer.produced();
    f.out = reader.rows();
    auto latencies = reader.take_latencies();
    const auto memory = memory_of(child.pid());
    const double cpu = cpu_seconds_of(child.pid());
    const auto now = clock_type::now();
    f.state_mib = static_cast<double>(directory_bytes(state_dir_of(child.pid()))) / (1 << 20);
    // The shared state caches fill up to their capacity and stay there: growth up to that is no leak.
    auto metrics = metric_sums(server);
    f.caches_mib = metrics["sluice_state_cache_bytes"] / (1 << 20);
    caches_capacity_mib = metrics["sluice_state_cache_capacity_bytes"] / (1 << 20);
    f.free_mib = metrics["sluice_heap_free_bytes"] / (1 << 20);
    if (memory.rss_kib < 0 || cpu < 0)
      throw std::runtime_error("the app (pid " + std::to_string(child.pid()) + ") is gone");
    f.rss_mib = static_cast<double>(memory.rss_kib) / 1024;
    f.hwm_mib = static_cast<double>(memory.hwm_kib) / 1024;
    f.anon_mib = static_cast<double>(memory.anon_kib) / 1024;
    f.file_mib = static_cast<double>(memory.file_kib) / 1024;
    f.cpu_percent = 100 * (cpu - cpu_before) / duration<double>(now - minute_start).count();
    cpu_before = cpu;
    minute_start = now;
    std::sort(latencies.begin(), latencies.end());
    f.rows = latencies.size();
    f.p50 = quantile(latencies, 0.50);
    f.p90 = quantile(latencies, 0.90);
    f.p99 = quantile(latencies, 0.99);
    f.max = quantile(latencies, 1.0);
    std::printf(
      "%6d %10lld %10lld %7lld %9.1f %8.1f %8.1f %9.1f %8.1f %8.1f %10.1f %8.1f %9.1f %8.1f %5.0f %9.1f   %8.1f "
      "%8.1f %8.1f %8.1f  (%zu)\n",
      minute, static_cast<long long>(f.in), static_cast<long long>(f.out), static_cast<long long>(f.in - f.out),
      f.rss_mib, f.rss_mean_mib, f.rss_max_mib, f.hwm_mib, f.anon_mib, f.file_mib, f.caches_mib, f.heap_mean_mib,
      f.beyond_heap_mean_mib, f.free_mib, f.cpu_percent, f.state_mib, f.p50, f.p90, f.p99, f.max, f.rows);
    std::fflush(stdout);
    table.push_back(f);
  }

  const auto stopped = clock_type::now();
  producer.stop();
  const auto produced = producer.produced();
  while (reader.rows() < produced && clock_type::now() < stopped + 60s)
    std::this_thread::sleep_for(10ms);
  const double drain_s = duration<double>(clock_type::now() - stopped).count();
  const auto rows = reader.rows();
  child.signal(SIGTERM);
  std::optional<std::string> result;
  while (auto line = child.read_line())
    if (line->starts_with("result "))
      result = *line;
  const int status = child.wait();
  if (status != 0 || !result)
    throw std::runtime_error("the app failed (status " + std::to_string(status) + ")");
  const auto app_result = parse_result(*result);

  std::printf("\nproduced %lld readings (%.0f/s); output %lld rows%s, read within %.1f s of the last reading "
              "after production stopped (lag then %lld); the app processed %.0f, VmHWM %.1f MiB, %.0f CPU-s in all\n",
              static_cast<long long>(produced),
              static_cast<double>(produced) / duration<double>(stopped - origin).count(), static_cast<long long>(rows),
              rows == produced ? " (one per reading: ok)" : " (MISMATCH: want one per reading)", drain_s,
              static_cast<long long>(produced - rows), app_result.at("records"), app_result.at("rss_kib") / 1024,
              app_result.at("cpu_seconds"));
  if (reader.unreadable() > 0)
    std::printf("%lld output rows had no readable sent_us\n", static_cast<long long>(reader.unreadable()));
  const auto& first = table.front();
  const auto& last = table.back();
  std::printf("VmRSS minute 1: %.1f MiB, minute %d: %.1f MiB (VmHWM %.1f MiB)\n", first.rss_mib, last.minute,
              last.rss_mib, last.hwm_mib);
  std::printf("latency minute 1: p50 %.1f p99 %.1f ms; minute %d: p50 %.1f p99 %.1f ms\n", first.p50, first.p99,
              last.minute, last.p50, last.p99);
  // Warm-up: the state grows until the oldest windows expire (retention + one window, then the
  // store purges), and with it what scales with the state (LevelDB's tables, their index and
  // filter blocks, the pages of them read). Memory is judged once the state holds steady: from the
  // minute after that.
  const size_t from = static_cast<size_t>(1 + (o.retention_s + o.window_s + 59) / 60);
  if (table.size() < from + 2) {
    std::printf("memory: too short to tell (a slope needs two minutes after the state's warm-up, minutes 1..%zu)\n",
                from);
    std::fflush(stdout);
    return rows == produced ? 0 : 1;
  }
  // Whether the per-minute `rss` less `minus` (0 or the caches) stays flat: its fitted growth from
  // minute `from` on is under 5 % of its average.
  auto flat = [&](const char* what, double minute_figures::*rss, double minute_figures::*minus, size_t from) {
    std::vector<double> xs, ys;
    for (size_t i = from; i < table.size(); ++i) {
      xs.push_back(table[i].minute);
      ys.push_back(table[i].*rss - (minus ? table[i].*minus : 0));
    }
    const double slope = least_squares_slope(xs, ys);
    const double mean = std::accumulate(ys.begin(), ys.end(), 0.0) / static_cast<double>(ys.size());
    const double fitted_growth = slope * (xs.back() - xs.front());
    std::printf("%s: least-squares slope over minutes %d..%d %+.3f MiB/min (%+.1f MiB over those minutes, %.1f %% of "
                "their average %.1f MiB)\n",
                what, static_cast<int>(xs.front()), static_cast<int>(xs.back()), slope, fitted_growth,
                100 * fitted_growth / mean, mean);
    return std::abs(fitted_growth) < 0.05 * mean;
  };
  const bool rss_flat = flat("VmRSS per-minute mean", &minute_figures::rss_mean_mib, nullptr, from) &
                        flat("VmRSS per-minute max", &minute_figures::rss_max_mib, nullptr, from);
  const bool rest_flat =
    flat("VmRSS per-minute mean less the state caches", &minute_figures::rss_mean_mib, &minute_figures::caches_mib,
         from) &
    flat("VmRSS per-minute max less the state caches", &minute_figures::rss_max_mib, &minute_figures::caches_mib, from);
  // The caches fill up to their bound, slowly where most reads hit the record cache: once they are
  // full (the first minute at 99 % of their capacity, and no earlier than `from`), every bounded
  // part of the app has reached its bound, and the RSS itself must hold steady.
  size_t full = from;
  while (full < table.size() && table[full].caches_mib < 0.99 * caches_capacity_mib)
    ++full;
  bool full_flat = false;
  if (full + 2 <= table.size()) {
    full_flat = flat("VmRSS per-minute mean once the caches are full", &minute_figures::rss_mean_mib, nullptr, full) &
                flat("VmRSS per-minute max once the caches are full", &minute_figures::rss_max_mib, nullptr, full);
    // What the process holds from its allocator, and what is resident beyond it: if the first holds
    // level while the resident set grows, the growth is memory the allocator kept, not the app's.
    flat("heap in use per-minute mean once the caches are full", &minute_figures::heap_mean_mib, nullptr, full);
    flat("RssAnon less the heap in use, per-minute mean, once the caches are full",
         &minute_figures::beyond_heap_mean_mib, nullptr, full);
  }
  if (rss_flat)
    std::printf("memory: flat");
  else if (full_flat)
    std::printf("memory: flat once the shared state caches are full (from minute %d, %.1f of %.1f MiB; growing "
                "until then)",
                table[full].minute, table[full].caches_mib, caches_capacity_mib);
  else if (rest_flat)
    std::printf("memory: flat but for the shared state caches filling up to their bound (%.1f of %.1f MiB at the "
                "end)",
                last.caches_mib, caches_capacity_mib);
  else
    std::printf("memory: NOT flat");
  std::printf(" (flat: the fitted growth of both the per-minute mean and max under 5 %% of their average)\n");
  std::fflush(stdout);
  return rows == produced ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App cli{"sluice-bench-soak: a windowed aggregation at a steady input rate for a long time, on the embedded "
               "broker: per minute RSS, CPU and end-to-end latency"};
  options o;
  cli.add_option("--minutes", o.minutes, "how long to run; a line every minute")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  cli.add_option("--rate", o.rate, "readings produced per second")->capture_default_str()->check(CLI::PositiveNumber);
  cli.add_option("--partitions", o.partitions, "partitions of the input, output and changelog topics")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  cli.add_option("--keys", o.keys, "distinct keys (hosts); reading i has key i mod keys")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  cli.add_option("--window-s", o.window_s, "tumbling window size in seconds")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  cli
    .add_option(
      "--retention-s", o.retention_s,
      "seconds windows are kept behind the newest (0: Kafka Streams' default, 1 day: the state grows all day)")
    ->capture_default_str()
    ->check(CLI::NonNegativeNumber);
  cli.add_option("--compression", o.compression, "compression.type of the input")
    ->capture_default_str()
    ->check(CLI::IsMember({"zstd", "lz4", "none"}));
  cli.add_option("--seed", o.seed, "random seed of the usage values")->capture_default_str();
  cli.add_option("--set", o.settings, "key=value streams setting for the app (repeatable)");
  cli.add_option("--threads", o.threads, "num.stream.threads (0 = one per core)")->capture_default_str();
  auto* internal = cli.add_option_group("internal", "used when the bench re-executes itself for the app");
  internal->add_option("--phase", o.phase)->check(CLI::IsMember({"app"}));
  internal->add_option("--bootstrap-servers", o.bootstrap);
  internal->add_option("--input", o.input);
  internal->add_option("--output", o.output);
  internal->add_option("--application-id", o.application_id);
  CLI11_PARSE(cli, argc, argv);
  if (o.keys < o.partitions) {
    std::fprintf(stderr, "sluice-bench-soak: want partitions <= keys (every task has state)\n");
    return 1;
  }
  try {
    if (o.phase == "app")
      return phase_app(o);
    return orchestrate(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sluice-bench-soak: %s\n", e.what());
    return 1;
  }
}
