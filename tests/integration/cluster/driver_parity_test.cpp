// The topology test driver and the runtime run the same processors: one topology (a stateless
// chain, a re-keyed count and a re-keyed windowed count with final emission) gets the same input
// on the test driver, at several batch sizes, and on the runtime, on four partitions with the input
// produced before the app starts. Both must give what the test computes from the input itself.
#include <sluice/kafka_streams.hpp>
#include <sluice/topology/stream.hpp>
#include <sluice/topology/test_driver.hpp>

#include "embedded_broker.hpp"
#include "kafka_test_client.hpp"
#include "test_helpers.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <tuple>

namespace json = boost::json;
using namespace sluice;
using namespace std::chrono_literals;
using sluice::test::consume_options;
using sluice::test::kafka_test_client;
using sluice::test::outgoing_record;
using sluice::test::unique_name;

namespace {

constexpr int partitions = 4;
constexpr int readings = 3000;
constexpr int devices = 37;
constexpr int hosts = 7;
constexpr int64_t start_ms = 1700000000000;
constexpr int64_t window_ms = 10000;

// One input record; `partition` is where its key lives (device index mod partitions).
struct reading {
  std::string key;
  std::string value;
  int64_t timestamp;
  int partition;
};

// Reading i: device i mod 37, host (i / 3) mod 7, x = i; event time 100 ms apart with up to 4 s of
// disorder (less than the windows' grace: nothing is late whatever the batch boundaries). Then one
// sentinel per partition an hour later, which closes every window of the readings.
std::vector<reading> input() {
  std::vector<reading> out;
  for (int i = 0; i < readings; ++i) {
    const int device = i % devices;
    const int64_t t = start_ms + int64_t{i} * 100 - (i % 5 == 0 ? 4000 : 0);
    json::object v{{"host", "h" + std::to_string((i / 3) % hosts)}, {"x", i}};
    out.push_back({"dev-" + std::to_string(device), json::serialize(v), t, device % partitions});
  }
  const int64_t last = start_ms + int64_t{readings} * 100;
  for (int p = 0; p < partitions; ++p)
    out.push_back({"sentinel-" + std::to_string(p), R"({"host":"sentinel","x":-1})", last + 3600000, p});
  return out;
}

// Outputs of the topology, as comparable values.
struct outputs {
  std::map<std::string, std::vector<std::string>> stateless;             // key -> values in order
  std::map<std::string, int64_t> totals;                                 // host -> last count written
  std::set<std::tuple<std::string, int64_t, int64_t>> windows;           // (host, start, count)
  std::multiset<std::tuple<std::string, int64_t, int64_t>> window_dupes; // every window row written
};

// What the topology must write, computed from the input without sluice.
outputs expected_outputs(const std::vector<reading>& in) {
  outputs e;
  std::map<std::pair<std::string, int64_t>, int64_t> per_window;
  for (const auto& r : in) {
    const auto v = json::parse(r.value).as_object();
    const auto x = v.at("x").as_int64();
    const std::string host{v.at("host").as_string()};
    if (x % 3 != 0)
      e.stateless[r.key].push_back(json::serialize(json::object{{"host", host}, {"x", x}, {"doubled", 2 * x}}));
    ++e.totals[host];
    if (host != "sentinel")
      ++per_window[{host, r.timestamp - r.timestamp % window_ms}];
  }
  for (const auto& [w, count] : per_window) {
    e.windows.insert({w.first, w.second, count});
    e.window_dupes.insert({w.first, w.second, count});
  }
  return e;
}

topology parity_topology() {
  topology_builder b;
  auto in = b.stream<serdes::string, serdes::json>("readings");
  in.filter([](const std::string&, const json::value& v) { return v.at("x").as_int64() % 3 != 0; })
    .map_values([](const json::value& v) {
      auto o = v.as_object();
      o["doubled"] = 2 * v.at("x").as_int64();
      return json::value(std::move(o));
    })
    .to("stateless-out");
  auto by_host = in.group_by(
    [](const std::string&, const json::value& v) { return std::string{v.at("host").as_string()}; }, "by-host");
  by_host.count("totals").to_stream().to("totals-out");
  by_host.windowed_by(tumbling(std::chrono::milliseconds{window_ms}).grace(1min).emit_final())
    .count("per-window")
    .to("windows-out");
  return b.build();
}

using wserde = serdes::windowed_json<serdes::string>;

// Adds one output record of `topic` to `o`.
void collect(outputs& o, const std::string& topic, std::string_view key, std::string_view value) {
  if (topic == "stateless-out") {
    o.stateless[std::string{key}].emplace_back(value);
  } else if (topic == "totals-out") {
    o.totals[std::string{key}] = serdes::int64{}.deserialize(value);
  } else {
    const auto w = wserde{}.deserialize(key);
    const auto count = serdes::int64{}.deserialize(value);
    o.windows.insert({w.key, w.start, count});
    o.window_dupes.insert({w.key, w.start, count});
  }
}

constexpr const char* output_topics[] = {"stateless-out", "totals-out", "windows-out"};

outputs run_on_driver(const std::vector<reading>& in, size_t batch_size) {
  topology_test_driver d{parity_topology(), "parity", exception_handler::log_and_fail, batch_size};
  for (const auto& r : in)
    d.pipe("readings", r.key, r.value, r.timestamp);
  d.flush();
  outputs o;
  for (const auto* topic : output_topics)
    for (const auto& r : d.read_output(topic))
      collect(o, topic, r.key, r.value);
  return o;
}

// The first difference between `got` and `want`, or "" if they are equal.
template <class Map>
std::string first_difference(const Map& got, const Map& want) {
  auto g = got.begin();
  auto w = want.begin();
  for (; g != got.end() && w != want.end(); ++g, ++w)
    if (!(*g == *w))
      return "got " + ::testing::PrintToString(*g) + " where " + ::testing::PrintToString(*w) + " was expected";
  if (g != got.end())
    return "unexpected " + ::testing::PrintToString(*g);
  if (w != want.end())
    return "missing " + ::testing::PrintToString(*w);
  return "";
}

void expect_same(const outputs& got, const outputs& want, const std::string& where) {
  EXPECT_EQ(first_difference(got.stateless, want.stateless), "") << where << ": stateless";
  EXPECT_EQ(first_difference(got.totals, want.totals), "") << where << ": totals";
  EXPECT_EQ(first_difference(got.windows, want.windows), "") << where << ": windows";
  EXPECT_EQ(got.window_dupes.size(), got.windows.size()) << where << ": each window is written once";
}

} // namespace

TEST(driver_parity, the_test_driver_gives_the_expected_output_at_every_batch_size) {
  const auto in = input();
  const auto want = expected_outputs(in);
  ASSERT_GT(want.windows.size(), 100u);
  for (size_t batch_size : {size_t{1}, size_t{7}, size_t{2000}})
    expect_same(run_on_driver(in, batch_size), want, "driver, batches of " + std::to_string(batch_size));
}

TEST(driver_parity, the_runtime_on_four_partitions_gives_what_the_test_driver_gives) {
  const auto in = input();
  const auto want = expected_outputs(in);

  embedded_broker broker;
  const kafka_test_client client{broker.bootstrap_servers()};
  const auto app = unique_name("parity");
  broker.create_topic("readings", partitions);
  for (const auto* topic : output_topics)
    broker.create_topic(topic, partitions);
  std::vector<outgoing_record> records;
  for (const auto& r : in)
    records.push_back({r.key, r.value, {}, r.partition, r.timestamp});
  client.produce("readings", records); // all of it before the app starts

  sluice::test::temp_dir state{"sluice-parity"};
  auto config = sluice::test::app_config(app, broker.bootstrap_servers(), state.path);
  config.commit_interval_ms = 200;
  config.set("kafka.session.timeout.ms", "6000");
  kafka_streams streams{parity_topology(), config};
  streams.start();
  // Every window closes once the sentinels' event time reached the windowed count.
  consume_options until_windows;
  until_windows.max_records = want.window_dupes.size();
  until_windows.idle_timeout = 60s;
  const auto windows = client.consume("windows-out", until_windows);
  ASSERT_EQ(windows.size(), want.window_dupes.size()) << streams.failure();
  streams.close(); // final commit: the totals' cache is flushed

  outputs got;
  consume_options to_end;
  to_end.stop_at_end = true;
  to_end.idle_timeout = 2s;
  for (const auto* topic : output_topics)
    for (const auto& r : client.consume(topic, to_end))
      collect(got, topic, r.key.value_or(""), r.value.value_or(""));
  expect_same(got, want, "runtime, 4 partitions");
}
