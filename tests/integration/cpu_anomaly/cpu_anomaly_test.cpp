// End-to-end tests of the cpu-anomaly app (a child process) against the embedded broker hosted in
// the test process: exact output for 100 000 readings, two instances sharing the partitions with one
// killed mid-stream, dead-lettering of malformed records, a broker outage mid-stream, --help and bad
// configuration values. Expected outputs are computed here from the input read back from the broker.

#include "child_process.hpp"
#include "cpu_anomaly_support.hpp"
#include "embedded_broker.hpp"
#include "kafka_test_client.hpp"
#include "offset_probe.hpp"
#include "paths.hpp"
#include "test_helpers.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

namespace {

using namespace std::chrono_literals;
using namespace sluice::test::cpu_anomaly;
using sluice::test::child_process;
using sluice::test::consume_options;
using sluice::test::consumed_record;
using sluice::test::kafka_test_client;
using sluice::test::outgoing_record;

// Prints a progress line with the seconds since `start` (test logs show where the time goes).
void progress(std::chrono::steady_clock::time_point start, const char* what) {
  std::printf("[%5.1f s] %s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), what);
  std::fflush(stdout);
}

// Starts sluice-gen cpu writing `count` seeded readings to `topic` (rate 0 = as fast as possible).
std::unique_ptr<child_process> start_generator(const std::string& bootstrap, const std::string& topic,
                                               std::uint64_t count, std::uint64_t seed, int rate = 0) {
  return std::make_unique<child_process>(sluice::test::built_binary("sluice-gen"),
                                         std::vector<std::string>{"cpu", "--bootstrap-servers", bootstrap, "--topic",
                                                                  topic, "--count", std::to_string(count), "--seed",
                                                                  std::to_string(seed), "--rate", std::to_string(rate),
                                                                  "--delivery-timeout-ms", "60000"});
}

// Reads a whole topic from the beginning, expecting at least `at_least` records.
std::vector<consumed_record> read_all(const kafka_test_client& client, const std::string& topic, std::size_t at_least) {
  consume_options options;
  options.stop_at_end = true;
  options.idle_timeout = 10s;
  options.total_timeout = 60s;
  auto records = client.consume(topic, options);
  if (records.size() < at_least) { // the end may have been reached before everything arrived
    options.stop_at_end = false;
    options.max_records = at_least;
    records = client.consume(topic, options);
  }
  return records;
}

// Starts cpu-anomaly with the tests' settings.
std::unique_ptr<child_process> start_app(const std::string& bootstrap, const std::string& app_id, const std::string& in,
                                         const std::string& out, const std::filesystem::path& state_dir) {
  return std::make_unique<child_process>(sluice::test::built_binary("cpu-anomaly"),
                                         app_args(bootstrap, app_id, in, out, state_dir));
}

// Waits until the output topic holds every expected row (duplicates allowed); returns the last
// comparison.
comparison wait_for_all_outputs(const kafka_test_client& client, offset_probe& probe, const std::string& out,
                                const row_counts& expected, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const auto expected_count = static_cast<std::int64_t>(total(expected));
  comparison last;
  last.missing = total(expected);
  const auto start = std::chrono::steady_clock::now();
  auto next_report = start;
  for (;;) {
    wait_until(
      [&] {
        const auto n = probe.end_offset_sum(out);
        if (std::chrono::steady_clock::now() >= next_report) { // where the time goes, in the test log
          next_report += 5s;
          std::printf("  %4.0f s: %lld output records of %lld expected\n",
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                      static_cast<long long>(n), static_cast<long long>(expected_count));
          std::fflush(stdout);
        }
        return n >= expected_count;
      },
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
    const auto actual = parse_outputs(read_all(client, out, 0));
    last = compare(expected, actual);
    if (last.missing == 0 || std::chrono::steady_clock::now() >= deadline)
      return last;
    std::this_thread::sleep_for(1s);
  }
}

// The lines of `app`'s log about partitions changing hands and retries (not the per-commit warnings).
std::string membership_log(const child_process& app) {
  std::string out, line;
  std::istringstream in(app.stderr_text());
  while (std::getline(in, line))
    if (line.find("partition(s)") != std::string::npos || line.find("retr") != std::string::npos ||
        line.find("error") != std::string::npos)
      if (line.find("offset commit failed") == std::string::npos)
        out += line.substr(0, 200) + "\n";
  return out;
}

// Stops `app` with SIGTERM and expects exit code 0 within 30 s.
void stop_cleanly(child_process& app) {
  app.terminate();
  const auto status = app.wait_for(30s);
  ASSERT_TRUE(status) << "cpu-anomaly ignored SIGTERM; stderr:\n" << tail_of(app);
  EXPECT_TRUE(status->success()) << to_string(*status) << "; stderr:\n" << tail_of(app);
}

TEST(cpu_anomaly, writes_exactly_the_expected_rows_for_100k_readings) {
  constexpr std::size_t readings = 100'000;
  sluice::embedded_broker broker;
  const auto in = unique_name("cpu-in"), out = unique_name("cpu-out"), app_id = unique_name("cpu-app");
  broker.create_topic(in, 4);
  const kafka_test_client client(broker.bootstrap_servers());
  offset_probe probe(broker.bootstrap_servers());

  auto gen = start_generator(broker.bootstrap_servers(), in, readings, 1);
  const auto gen_status = gen->wait_for(60s);
  ASSERT_TRUE(gen_status) << "sluice-gen did not finish";
  ASSERT_TRUE(gen_status->success()) << to_string(*gen_status) << ": " << tail_of(*gen);

  const auto input = read_all(client, in, readings);
  ASSERT_EQ(input.size(), readings);
  std::size_t invalid = 0;
  const auto expected = expected_outputs(input, &invalid);
  ASSERT_EQ(invalid, 0u);
  // usage is uniform in [70, 100): about two thirds pass; a sanity check of the generator and the rule.
  ASSERT_GT(total(expected), readings * 60 / 100);
  ASSERT_LT(total(expected), readings * 73 / 100);

  sluice::test::cpu_anomaly::temp_dir state;
  auto app = start_app(broker.bootstrap_servers(), app_id, in, out, state.path());
  const auto expected_count = static_cast<std::int64_t>(total(expected));
  const bool complete = wait_until([&] { return probe.end_offset_sum(out) >= expected_count || !app->running(); }, 50s);
  ASSERT_TRUE(complete) << "output count " << probe.end_offset_sum(out) << " of " << expected_count
                        << " after 50 s; stderr:\n"
                        << tail_of(*app);
  ASSERT_TRUE(app->running()) << "cpu-anomaly ended early; stderr:\n" << tail_of(*app);
  // Once it consumed its input, anything beyond the expected count is written.
  ASSERT_TRUE(sluice::test::wait_until_consumed(broker.bootstrap_servers(), app_id, {in})) << tail_of(*app);
  stop_cleanly(*app);

  const auto output = read_all(client, out, static_cast<std::size_t>(expected_count));
  EXPECT_EQ(output.size(), static_cast<std::size_t>(expected_count));
  const auto actual = parse_outputs(output);
  const auto c = compare(expected, actual);
  EXPECT_EQ(c.missing, 0u) << c.first_problem;
  EXPECT_EQ(c.duplicates, 0u);
  EXPECT_EQ(c.unexpected, 0u) << c.first_problem;
  // Keys are the inputs' keys ({"hostname": ...}) and match the value's hostname.
  for (const auto& [row, n] : actual)
    ASSERT_EQ(row.key, boost::json::serialize(boost::json::object{{"hostname", row.hostname}})) << row.key;
}

TEST(cpu_anomaly, two_instances_share_partitions_and_the_survivor_takes_over_after_a_kill) {
  constexpr std::size_t readings = 100'000;
  constexpr int partitions = 8;
  sluice::embedded_broker broker;
  const auto in = unique_name("cpu-in"), out = unique_name("cpu-out"), app_id = unique_name("cpu-app");
  broker.create_topic(in, partitions);
  const kafka_test_client client(broker.bootstrap_servers());
  offset_probe probe(broker.bootstrap_servers());
  sluice::test::cpu_anomaly::temp_dir state_a, state_b;

  auto a = start_app(broker.bootstrap_servers(), app_id, in, out, state_a.path());
  ASSERT_TRUE(wait_until([&] { return tasks_from_log(a->stderr_text()) == partitions; }, 20s))
    << "first instance never held all partitions; stderr:\n"
    << tail_of(*a);

  auto b = start_app(broker.bootstrap_servers(), app_id, in, out, state_b.path());
  const bool split = wait_until(
    [&] {
      const int ta = tasks_from_log(a->stderr_text()), tb = tasks_from_log(b->stderr_text());
      return ta > 0 && tb > 0 && ta + tb == partitions;
    },
    20s);
  ASSERT_TRUE(split) << "partitions not split: a holds " << tasks_from_log(a->stderr_text()) << ", b holds "
                     << tasks_from_log(b->stderr_text()) << "\nstderr a:\n"
                     << tail_of(*a) << "\nstderr b:\n"
                     << tail_of(*b);
  std::printf("split: a holds %d, b holds %d partitions\n", tasks_from_log(a->stderr_text()),
              tasks_from_log(b->stderr_text()));

  // 100 000 readings over ~20 s once the group has settled (however long that took), so that the
  // kill below happens while input is still produced.
  auto gen = start_generator(broker.bootstrap_servers(), in, readings, 2, 5000);

  // Let both instances produce output, then kill one while the generator still runs.
  const auto before = probe.end_offset_sum(out);
  ASSERT_TRUE(wait_until([&] { return probe.end_offset_sum(out) >= before + 2000; }, 15s));
  ASSERT_TRUE(gen->running()) << "the generator finished before the kill: the kill would not be mid-stream";
  a->kill();
  const auto killed = a->wait_for(5s);
  ASSERT_TRUE(killed);
  EXPECT_FALSE(killed->exited);
  EXPECT_EQ(killed->signal, SIGKILL);

  EXPECT_TRUE(wait_until([&] { return tasks_from_log(b->stderr_text()) == partitions; }, 20s))
    << "survivor did not take over all partitions; stderr:\n"
    << tail_of(*b);
  const auto gen_status = gen->wait_for(40s);
  ASSERT_TRUE(gen_status) << "sluice-gen did not finish";
  ASSERT_TRUE(gen_status->success()) << to_string(*gen_status) << ": " << tail_of(*gen);

  const auto input = read_all(client, in, readings);
  ASSERT_EQ(input.size(), readings);
  const auto expected = expected_outputs(input);
  const auto c = wait_for_all_outputs(client, probe, out, expected, 40s);
  std::printf("expected %zu rows: missing %zu, duplicates %zu, unexpected %zu\n", total(expected), c.missing,
              c.duplicates, c.unexpected);
  EXPECT_EQ(c.missing, 0u) << c.first_problem << "\nstderr b:\n" << tail_of(*b);
  EXPECT_EQ(c.unexpected, 0u) << c.first_problem;
  RecordProperty("duplicates", static_cast<int>(c.duplicates));
  stop_cleanly(*b);
}

// A reading as sluice-gen writes it, from our own random source.
std::string make_reading(std::mt19937_64& rng, std::int64_t occurred_at, std::string& hostname) {
  static const char* hosts[] = {"doc", "grumpy", "sleepy", "bashful", "happy", "sneezy", "dopey"};
  hostname = hosts[rng() % 7];
  const double usage = 70.0 + 30.0 * static_cast<double>(rng() >> 11) * 0x1.0p-53;
  boost::json::object o{{"hostname", hostname},
                        {"cpu", "cpu" + std::to_string(1 + rng() % 5)},
                        {"usage", usage},
                        {"occurred_at", occurred_at}};
  return boost::json::serialize(o);
}

TEST(cpu_anomaly, malformed_records_go_to_the_dead_letter_topic_and_good_ones_flow) {
  sluice::embedded_broker broker;
  const auto in = unique_name("cpu-in"), out = unique_name("cpu-out"), app_id = unique_name("cpu-app");
  const auto dlq = app_id + "-dlq";
  broker.create_topic(in, 4);
  const kafka_test_client client(broker.bootstrap_servers());
  offset_probe probe(broker.bootstrap_servers());

  // Good readings with malformed ones in between. Each bad value is unique, so it can be found again.
  std::vector<outgoing_record> records;
  std::set<std::string> bad_values;
  std::string bad_key_value; // a good value under a key that is not JSON
  std::mt19937_64 rng(3);
  constexpr int good = 3000, bad_every = 100;
  for (int i = 0; i < good; ++i) {
    std::string hostname;
    const std::int64_t ts = 1700000000000 + i;
    const auto value = make_reading(rng, ts, hostname);
    const auto key = boost::json::serialize(boost::json::object{{"hostname", hostname}});
    records.push_back({key, value});
    if (i % bad_every != 0)
      continue;
    const auto n = std::to_string(i);
    const std::vector<std::string> bad = {
      "{not json " + n,                                                                   // invalid JSON
      R"({"hostname": "doc", "cpu": "cpu1", "usage": "high", "occurred_at": )" + n + "}", // usage a string
      "[1, 2, " + n + "]",                                                                // not an object
      R"({"hostname": "doc", "cpu": "cpu1", "occurred_at": )" + n + "}",                  // no usage
      R"({"cpu": "cpu2", "usage": 95.5, "occurred_at": )" + n + "}",                      // passes, no hostname
    };
    for (const auto& v : bad) {
      records.push_back({R"({"hostname": "doc"})", v});
      bad_values.insert(v);
    }
    if (i == 1500) {
      bad_key_value = R"({"hostname": "happy", "cpu": "cpu3", "usage": 99.5, "occurred_at": 7})";
      records.push_back({"not-json-key{", bad_key_value});
    }
  }
  client.produce(in, records);
  const auto input = read_all(client, in, records.size());
  ASSERT_EQ(input.size(), records.size());

  std::set<std::pair<std::int32_t, std::int64_t>> bad_positions;
  std::map<std::pair<std::int32_t, std::int64_t>, const consumed_record*> by_position;
  std::vector<consumed_record> good_input;
  for (const auto& r : input) {
    by_position[{r.partition, r.offset}] = &r;
    if (bad_values.contains(*r.value) || *r.value == bad_key_value)
      bad_positions.insert({r.partition, r.offset});
    else
      good_input.push_back(r);
  }
  ASSERT_EQ(bad_positions.size(), bad_values.size() + 1);
  std::size_t invalid = 0;
  const auto expected = expected_outputs(good_input, &invalid);
  ASSERT_EQ(invalid, 0u);
  // Our own parser agrees that every bad value is bad.
  for (const auto& v : bad_values) {
    consumed_record r;
    r.key = R"({"hostname": "doc"})";
    r.value = v;
    EXPECT_THROW(expected_output(r), std::invalid_argument) << v;
  }

  sluice::test::cpu_anomaly::temp_dir state;
  auto app = start_app(broker.bootstrap_servers(), app_id, in, out, state.path());
  const auto expected_count = static_cast<std::int64_t>(total(expected));
  const auto bad_count = static_cast<std::int64_t>(bad_positions.size());
  const bool done = wait_until(
    [&] {
      return (probe.end_offset_sum(out) >= expected_count && probe.end_offset_sum(dlq) >= bad_count) || !app->running();
    },
    40s);
  EXPECT_TRUE(done) << "output " << probe.end_offset_sum(out) << "/" << expected_count << ", dlq "
                    << probe.end_offset_sum(dlq) << "/" << bad_count << "; stderr:\n"
                    << tail_of(*app);
  ASSERT_TRUE(app->running()) << "cpu-anomaly ended; stderr:\n" << tail_of(*app);
  ASSERT_TRUE(sluice::test::wait_until_consumed(broker.bootstrap_servers(), app_id, {in})) << tail_of(*app);
  stop_cleanly(*app);

  const auto c = compare(expected, parse_outputs(read_all(client, out, static_cast<std::size_t>(expected_count))));
  EXPECT_EQ(c.missing, 0u) << c.first_problem;
  EXPECT_EQ(c.duplicates, 0u);
  EXPECT_EQ(c.unexpected, 0u) << c.first_problem;

  const auto dead = read_all(client, dlq, bad_positions.size());
  EXPECT_EQ(dead.size(), bad_positions.size());
  std::set<std::pair<std::int32_t, std::int64_t>> dead_positions;
  for (const auto& d : dead) {
    std::map<std::string, std::string> headers(d.headers.begin(), d.headers.end());
    ASSERT_TRUE(headers.contains("error") && headers.contains("source.topic") && headers.contains("source.partition") &&
                headers.contains("source.offset"))
      << "dead letter without the four headers";
    EXPECT_FALSE(headers["error"].empty());
    EXPECT_EQ(headers["source.topic"], in);
    const std::pair<std::int32_t, std::int64_t> position{std::stoi(headers["source.partition"]),
                                                         std::stoll(headers["source.offset"])};
    EXPECT_TRUE(bad_positions.contains(position))
      << "dead letter points at a good record " << position.first << "@" << position.second << ": "
      << (by_position.contains(position) ? by_position[position]->value.value_or("null") : "(none)")
      << " error: " << headers["error"];
    EXPECT_TRUE(dead_positions.insert(position).second) << "dead-lettered twice";
    // A dead letter that carries the record carries it unchanged.
    if (d.value && by_position.contains(position)) {
      EXPECT_EQ(*d.value, *by_position[position]->value);
    }
  }
  EXPECT_EQ(dead_positions, bad_positions);
}

TEST(cpu_anomaly, loses_nothing_when_the_broker_is_down_for_a_few_seconds) {
  constexpr std::size_t readings = 60'000;
  const auto t0 = std::chrono::steady_clock::now();
  sluice::embedded_broker broker;
  const auto in = unique_name("cpu-in"), out = unique_name("cpu-out"), app_id = unique_name("cpu-app");
  broker.create_topic(in, 4);
  const kafka_test_client client(broker.bootstrap_servers());
  offset_probe probe(broker.bootstrap_servers());
  sluice::test::cpu_anomaly::temp_dir state;

  auto app = start_app(broker.bootstrap_servers(), app_id, in, out, state.path());
  ASSERT_TRUE(wait_until([&] { return tasks_from_log(app->stderr_text()) == 4; }, 20s))
    << "cpu-anomaly never held the 4 partitions; stderr:\n"
    << tail_of(*app);
  auto gen = start_generator(broker.bootstrap_servers(), in, readings, 4, 5000); // ~12 s
  ASSERT_TRUE(wait_until([&] { return probe.end_offset_sum(out) >= 3000; }, 15s)) << tail_of(*app);

  ASSERT_TRUE(gen->running());
  progress(t0, "broker down");
  broker.set_broker_down(1);
  std::this_thread::sleep_for(4s);
  broker.set_broker_up(1);
  progress(t0, "broker up");
  EXPECT_TRUE(app->running()) << "cpu-anomaly died during the outage; stderr:\n" << tail_of(*app);

  const auto gen_status = gen->wait_for(45s);
  progress(t0, "generator done");
  ASSERT_TRUE(gen_status) << "sluice-gen did not finish";
  ASSERT_TRUE(gen_status->success()) << to_string(*gen_status) << ": " << tail_of(*gen);
  const auto input = read_all(client, in, readings);
  ASSERT_EQ(input.size(), readings);
  const auto expected = expected_outputs(input);
  const auto c = wait_for_all_outputs(client, probe, out, expected, 40s);
  progress(t0, "outputs checked");
  std::printf("cpu-anomaly membership and retries:\n%s", membership_log(*app).c_str());
  std::printf("expected %zu rows: missing %zu, duplicates %zu, unexpected %zu\n", total(expected), c.missing,
              c.duplicates, c.unexpected);
  EXPECT_EQ(c.missing, 0u) << c.first_problem << "\nstderr:\n" << tail_of(*app);
  EXPECT_EQ(c.unexpected, 0u) << c.first_problem;
  stop_cleanly(*app);
}

TEST(cpu_anomaly, help_lists_every_configuration_key_with_its_default) {
  child_process app(sluice::test::built_binary("cpu-anomaly"), {"--help"});
  const auto status = app.wait_for(10s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(status->success()) << to_string(*status);
  const auto help = app.stdout_text();
  // Kafka Streams' names and the defaults an unconfigured cpu-anomaly runs with.
  const std::vector<std::pair<std::string, std::string>> keys = {
    {"application.id", "cpu-anomaly"},
    {"bootstrap.servers", "localhost:9092"},
    {"state.dir", "/tmp/sluice"},
    {"commit.interval.ms", "5000"},
    {"processing.guarantee", "at_least_once"},
    {"default.deserialization.exception.handler", "log_and_continue"},
    {"default.processing.exception.handler", "log_and_continue"},
    {"input.buffer.max.bytes", "16777216"},
    {"max.batch.records", "2000"},
    {"num.stream.threads", "0"},
    {"log.level", "info"},
  };
  for (const auto& [key, default_value] : keys) {
    std::string flag = "--" + key;
    std::replace(flag.begin(), flag.end(), '.', '-');
    const auto at = help.find(flag + " ");
    ASSERT_NE(at, std::string::npos) << flag << " missing from --help:\n" << help;
    // The option's entry: its line, and the next one when CLI11 wraps a long flag.
    auto end = help.find('\n', at);
    if (end != std::string::npos && help.compare(end + 1, 4, "    ") == 0 && help.compare(end + 1, 4, "  --") != 0)
      end = help.find('\n', end + 1);
    const auto line = help.substr(at, end - at);
    EXPECT_NE(line.find(key), std::string::npos) << line;
    EXPECT_NE(line.find("default: " + default_value), std::string::npos) << line;
  }
  for (const auto* flag : {"--set", "--config", "--input-topic", "--output-topic"})
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
}

TEST(cpu_anomaly, rejects_bad_configuration_values_with_a_clear_message) {
  struct bad_case {
    std::vector<std::string> args;
    std::vector<std::pair<std::string, std::string>> env;
    std::string must_mention;
  };
  const std::vector<bad_case> cases = {
    {{"--commit-interval-ms", "abc"}, {}, "abc"},
    {{"--set", "commit.interval.ms=abc"}, {}, "abc"},
    {{"--processing-guarantee", "sometimes"}, {}, "sometimes"},
    {{"--set", "no-equals-sign"}, {}, "no-equals-sign"},
    {{}, {{"SLUICE_COMMIT_INTERVAL_MS", "12x"}}, "12x"},
    {{"--set", "no.such.key=1"}, {}, "no.such.key"},
    {{"--set", "kafka.session.timeout.ms=abc"}, {}, "session.timeout.ms"},
  };
  for (const auto& bad : cases) {
    auto args = bad.args;
    args.insert(args.end(), {"--bootstrap-servers", "127.0.0.1:1"});
    child_process app(sluice::test::built_binary("cpu-anomaly"), args, {.env = bad.env});
    const auto status = app.wait_for(10s);
    ASSERT_TRUE(status) << "cpu-anomaly kept running with a bad value: " << bad.must_mention;
    EXPECT_TRUE(status->exited && status->code != 0) << to_string(*status) << " for " << bad.must_mention;
    const auto message = app.stderr_text() + app.stdout_text();
    EXPECT_NE(message.find(bad.must_mention), std::string::npos) << message;
    if (bad.must_mention == "abc" || bad.must_mention == "12x") {
      EXPECT_NE(message.find("commit.interval.ms"), std::string::npos) << message;
    }
  }
}

} // namespace

// The live page in headless Chromium: a running cpu-anomaly's page names every operator of its
// topology and shows rates, and what it shows changes while readings flow.
TEST(cpu_anomaly, live_page_shows_its_operators_with_rates_that_change) {
  const auto chromium = std::filesystem::path{"/usr/bin/chromium"};
  ASSERT_TRUE(std::filesystem::exists(chromium)) << "scripts/setup installs Debian's chromium";
  sluice::embedded_broker broker;
  const auto in = unique_name("cpu-in"), out = unique_name("cpu-out"), app_id = unique_name("cpu-app");
  broker.create_topic(in, 4);
  sluice::test::cpu_anomaly::temp_dir state;
  auto args = app_args(broker.bootstrap_servers(), app_id, in, out, state.path());
  args.insert(args.end(), {"--http-port", "0"});
  child_process app{sluice::test::built_binary("cpu-anomaly"), args};
  const std::string marker = "serving the live page at ";
  ASSERT_TRUE(app.wait_for_output(marker, 30s, true)) << tail_of(app);
  const auto log = app.stderr_text();
  const auto at = log.find(marker) + marker.size();
  const auto page = log.substr(at, log.find_first_of(" \n", at) - at);
  // Readings flow for the whole test: 2000 a second for 60 s.
  auto gen = start_generator(broker.bootstrap_servers(), in, 120000, 7, 2000);
  ASSERT_TRUE(wait_until([&] { return sluice::test::http_get(page, "/health").status == 200; }, 60s)) << tail_of(app);

  const auto topology = boost::json::parse(sluice::test::http_get(page, "/topology").body);
  std::vector<std::string> operators;
  for (const auto& sub : topology.at("subtopologies").as_array())
    for (const auto& n : sub.at("nodes").as_array())
      operators.emplace_back(n.at("name").as_string());
  ASSERT_FALSE(operators.empty());

  // The page as rendered after 10 s of its (virtual) time: refreshed ten times from the instance.
  auto render = [&] {
    child_process browser{
      chromium.string(),
      {"--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000", "--dump-dom", page}};
    const auto status = browser.wait_for(60s);
    EXPECT_TRUE(status && status->success()) << browser.stderr_text();
    return browser.stdout_text();
  };
  // The rate shown for `op` ("1.2 k records/s" → 1200), or -1 if the page shows none.
  auto rate_of = [](const std::string& dom, const std::string& op) {
    const auto tag = dom.find("data-rate=\"" + op + "\"");
    if (tag == std::string::npos)
      return -1.0;
    const auto text = dom.substr(dom.find('>', tag) + 1);
    const double value = std::stod(text);
    return text.find(" k ") == text.find(' ') ? value * 1e3 : text.find(" M ") == text.find(' ') ? value * 1e6 : value;
  };
  const auto first = render();
  for (const auto& op : operators)
    EXPECT_NE(first.find(op), std::string::npos) << op << " is not on the page:\n" << first.substr(0, 3000);
  EXPECT_NE(first.find("ready"), std::string::npos);
  const auto source = operators.front();
  ASSERT_TRUE(wait_until([&] { return rate_of(render(), source) > 0; }, 60s)) << "the source's rate stays 0:\n"
                                                                              << render().substr(0, 3000);
  // Later, the page shows other figures: more records processed.
  ASSERT_TRUE(wait_until([&] { return render() != first; }, 30s));
  gen->kill();
  app.terminate();
  app.wait_for(30s);
}
