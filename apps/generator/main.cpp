// sluice-gen: writes synthetic records of a scenario (see scenario.hpp, registry.cpp) to a Kafka
// topic with an idempotent, compressing librdkafka producer.

#include "scenario.hpp"

#include <CLI/CLI.hpp>
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <optional>
#include <thread>

namespace {

using namespace std::chrono;
using sluice::gen::scenario;
using sluice::gen::scenario_info;

constexpr std::int64_t default_seeded_start_ms = 1700000000000; // 2023-11-14T22:13:20Z
constexpr auto progress_interval = seconds(5);

std::atomic<bool> stop_requested{false};

// Flags shared by all scenarios (registered on every subcommand).
struct settings {
  std::string bootstrap_servers = "localhost:9092";
  std::string topic; // empty: the scenario's default topic
  std::uint64_t count = 0;
  double rate = 0;
  std::optional<std::uint64_t> seed;
  std::optional<std::int64_t> start_ms;
  std::int64_t step_ms = 100;
  std::string compression = "lz4";
  int delivery_timeout_ms = 30000;
  std::vector<std::string> properties;
  bool print = false;
};

void add_common_options(CLI::App& command, settings& s) {
  command.add_option("-b,--bootstrap-servers", s.bootstrap_servers, "Kafka bootstrap servers")->capture_default_str();
  command.add_option("-t,--topic", s.topic, "topic to write to (default: the scenario's)");
  command.add_option("-n,--count", s.count, "number of records; 0 = until SIGINT/SIGTERM")->capture_default_str();
  command.add_option("-r,--rate", s.rate, "records per second; 0 = as fast as possible")
    ->capture_default_str()
    ->check(CLI::NonNegativeNumber);
  command.add_option("--seed", s.seed,
                     "random seed; with a seed the output is reproducible byte for byte "
                     "(event time becomes synthetic, see --start-ms); default: random");
  command.add_option("--start-ms", s.start_ms,
                     "synthetic event time: record i has occurred_at = start-ms + i * step-ms. "
                     "Default: 1700000000000 with --seed; without --seed and --start-ms, "
                     "occurred_at is the wall clock when the record is made");
  command.add_option("--step-ms", s.step_ms, "event-time step per record in synthetic mode")
    ->capture_default_str()
    ->check(CLI::NonNegativeNumber);
  command.add_option("--compression", s.compression, "compression.type: none, gzip, snappy, lz4, zstd")
    ->capture_default_str()
    ->check(CLI::IsMember({"none", "gzip", "snappy", "lz4", "zstd"}));
  command
    .add_option("--delivery-timeout-ms", s.delivery_timeout_ms,
                "a record not acknowledged within this time counts as failed (message.timeout.ms)")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  command.add_option("-X,--property", s.properties, "extra librdkafka producer setting KEY=VALUE (repeatable)");
  command.add_flag("--print", s.print,
                   "write 'KEY<TAB>VALUE' lines to stdout instead of Kafka (an empty KEY is a null key)");
}

std::int64_t wall_clock_ms() { return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count(); }

// Delivery-report bookkeeping; touched only by the thread that calls rd_kafka_poll/flush.
struct delivery_stats {
  std::uint64_t delivered = 0;
  std::uint64_t failed = 0;
  std::string first_error;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  auto& stats = *static_cast<delivery_stats*>(opaque);
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++stats.delivered;
    return;
  }
  if (stats.failed++ == 0) {
    stats.first_error = rd_kafka_err2str(message->err);
    std::fprintf(stderr, "sluice-gen: delivery failed: %s\n", stats.first_error.c_str());
  }
}

void on_error(rd_kafka_t* rk, int err, const char* reason, void*) {
  const bool fatal = err == RD_KAFKA_RESP_ERR__FATAL;
  char fatal_reason[512];
  if (fatal)
    rd_kafka_fatal_error(rk, fatal_reason, sizeof(fatal_reason));
  std::fprintf(stderr, "sluice-gen: kafka %s: %s\n", fatal ? "fatal error" : "error", fatal ? fatal_reason : reason);
  if (fatal)
    stop_requested = true;
}

// Creates the idempotent producer; throws std::runtime_error with librdkafka's reason.
rd_kafka_t* make_producer(const settings& s, delivery_stats& stats) {
  char errstr[512];
  std::unique_ptr<rd_kafka_conf_t, decltype(&rd_kafka_conf_destroy)> conf{rd_kafka_conf_new(), &rd_kafka_conf_destroy};
  auto set = [&](const std::string& name, const std::string& value) {
    if (rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
      throw std::runtime_error(errstr);
  };
  set("bootstrap.servers", s.bootstrap_servers);
  set("enable.idempotence", "true");
  set("compression.type", s.compression);
  set("linger.ms", "20");
  set("message.timeout.ms", std::to_string(s.delivery_timeout_ms));
  for (const auto& property : s.properties) {
    const auto eq = property.find('=');
    if (eq == std::string::npos || eq == 0)
      throw std::runtime_error("-X expects KEY=VALUE, got '" + property + "'");
    set(property.substr(0, eq), property.substr(eq + 1));
  }
  rd_kafka_conf_set_dr_msg_cb(conf.get(), on_delivery);
  rd_kafka_conf_set_error_cb(conf.get(), on_error);
  rd_kafka_conf_set_opaque(conf.get(), &stats);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof(errstr));
  if (rk == nullptr)
    throw std::runtime_error(errstr);
  conf.release(); // rd_kafka_new took it
  return rk;
}

// The handle of topic `name`, created on first use and kept in `handles` (a scenario writes to a
// few topics at most, so a linear search is enough).
rd_kafka_topic_t* topic_handle(rd_kafka_t* rk, std::string_view name,
                               std::vector<std::pair<std::string, rd_kafka_topic_t*>>& handles) {
  for (const auto& [known, handle] : handles)
    if (known == name)
      return handle;
  handles.emplace_back(std::string(name), rd_kafka_topic_new(rk, std::string(name).c_str(), nullptr));
  return handles.back().second;
}

// Produces or prints records until count is reached or a stop is requested; returns the exit code.
int run(const scenario_info& info, scenario& gen, const settings& s) {
  const std::string topic = s.topic.empty() ? std::string(info.default_topic) : s.topic;
  sluice::gen::random_engine rng(s.seed ? *s.seed : std::random_device{}());
  const bool synthetic_time = s.seed || s.start_ms;
  const std::int64_t start_ms = s.start_ms.value_or(default_seeded_start_ms);

  delivery_stats stats;
  rd_kafka_t* rk = nullptr;
  rd_kafka_topic_t* rkt = nullptr;
  if (!s.print)
    rk = make_producer(s, stats);

  std::vector<std::pair<std::string, rd_kafka_topic_t*>> other_topics; // of record_topic()
  std::string key, value;
  const auto t0 = steady_clock::now();
  auto next_progress = t0 + progress_interval;
  std::uint64_t produced = 0;
  int exit_code = 0;
  for (; (s.count == 0 || produced < s.count) && !stop_requested && !gen.finished(); ++produced) {
    if (s.rate > 0) {
      const auto due = t0 + duration_cast<steady_clock::duration>(duration<double>(produced / s.rate));
      while (steady_clock::now() < due && !stop_requested) {
        if (rk != nullptr)
          rd_kafka_poll(rk, 0);
        std::this_thread::sleep_until(std::min(due, steady_clock::now() + milliseconds(50)));
      }
    }
    const std::int64_t occurred_at =
      synthetic_time ? start_ms + static_cast<std::int64_t>(produced) * s.step_ms : wall_clock_ms();
    gen.next(rng, occurred_at, key, value);
    const std::string_view record_topic = gen.record_topic();
    if (s.print) {
      if (!record_topic.empty()) {
        std::fwrite(record_topic.data(), 1, record_topic.size(), stdout);
        std::fputc('\t', stdout);
      }
      std::fwrite(key.data(), 1, key.size(), stdout);
      std::fputc('\t', stdout);
      std::fwrite(value.data(), 1, value.size(), stdout);
      std::fputc('\n', stdout);
      continue;
    }
    rd_kafka_topic_t* target = nullptr;
    if (record_topic.empty()) {
      if (rkt == nullptr)
        rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
      target = rkt;
    } else {
      target = topic_handle(rk, record_topic, other_topics);
    }
    for (;;) {
      const auto err =
        rd_kafka_producev(rk, RD_KAFKA_V_RKT(target), RD_KAFKA_V_KEY(key.empty() ? nullptr : key.data(), key.size()),
                          RD_KAFKA_V_VALUE(value.data(), value.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_TIMESTAMP(occurred_at), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
        break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        std::fprintf(stderr, "sluice-gen: cannot produce to %s: %s\n", rd_kafka_topic_name(target),
                     rd_kafka_err2str(err));
        stop_requested = true;
        exit_code = 1;
        break;
      }
      rd_kafka_poll(rk, 100); // local queue full: wait for deliveries
    }
    if (exit_code != 0)
      break;
    rd_kafka_poll(rk, 0);
    if (const auto now = steady_clock::now(); now >= next_progress) {
      next_progress = now + progress_interval;
      const double secs = duration<double>(now - t0).count();
      std::fprintf(stderr, "sluice-gen: produced %llu, delivered %llu, failed %llu (%.0f records/s)\n",
                   static_cast<unsigned long long>(produced), static_cast<unsigned long long>(stats.delivered),
                   static_cast<unsigned long long>(stats.failed), produced / secs);
    }
  }

  if (s.print) {
    std::fflush(stdout);
    std::fprintf(stderr, "sluice-gen: printed %llu records\n", static_cast<unsigned long long>(produced));
    return 0;
  }
  // Wait for every delivery report; message.timeout.ms bounds this.
  while (rd_kafka_outq_len(rk) > 0)
    rd_kafka_flush(rk, 1000);
  if (rkt != nullptr)
    rd_kafka_topic_destroy(rkt);
  for (auto& [name, handle] : other_topics)
    rd_kafka_topic_destroy(handle);
  rd_kafka_destroy(rk);
  std::printf("sluice-gen: delivered=%llu failed=%llu topic=%s\n", static_cast<unsigned long long>(stats.delivered),
              static_cast<unsigned long long>(stats.failed), topic.c_str());
  if (stats.failed > 0) {
    std::fprintf(stderr, "sluice-gen: %llu of %llu records were not delivered (first error: %s)\n",
                 static_cast<unsigned long long>(stats.failed), static_cast<unsigned long long>(produced),
                 stats.first_error.c_str());
    exit_code = 1;
  }
  return exit_code;
}

void request_stop(int) { stop_requested = true; }

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"sluice-gen: writes synthetic records of a scenario to a Kafka topic "
               "(idempotent producer, lz4 by default), then waits for every delivery report.\n"
               "Exit code 0 only if every record was delivered.",
               "sluice-gen"};
  app.require_subcommand(1);
  settings s;
  std::vector<std::pair<CLI::App*, const scenario_info*>> commands;
  std::vector<std::unique_ptr<scenario>> instances;
  for (const auto& info : sluice::gen::scenarios()) {
    auto* command = app.add_subcommand(std::string(info.name), std::string(info.description) + " (default topic " +
                                                                 std::string(info.default_topic) + ")");
    add_common_options(*command, s);
    instances.push_back(info.make());
    instances.back()->add_options(*command);
    commands.emplace_back(command, &info);
  }
  CLI11_PARSE(app, argc, argv);

  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);
  for (std::size_t i = 0; i < commands.size(); ++i) {
    if (!commands[i].first->parsed())
      continue;
    try {
      return run(*commands[i].second, *instances[i], s);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "sluice-gen: %s\n", e.what());
      return 1;
    }
  }
  return 2;
}
