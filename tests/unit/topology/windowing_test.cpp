// Windowed aggregations on the test driver; every expected vector is worked out by hand in the
// comments (see docs/windowing.md for the rules).
#include <sluice/topology/stream.hpp>
#include <sluice/topology/test_driver.hpp>

#include <gtest/gtest.h>

#include <chrono>

namespace json = boost::json;
using namespace sluice;
using namespace std::chrono_literals;

namespace {

using wkey = windowed<std::string>;
using wserde = serdes::windowed_json<serdes::string>;

// (key, start, end, count) of each windowed count update.
struct wcount {
  std::string key;
  int64_t start, end;
  std::optional<int64_t> count;
  bool operator==(const wcount&) const = default;
};

std::ostream& operator<<(std::ostream& os, const wcount& c) {
  return os << c.key << "[" << c.start << "," << c.end << "]=" << (c.count ? std::to_string(*c.count) : "null");
}

std::vector<wcount> counts(topology_test_driver& d, const std::string& topic) {
  std::vector<wcount> out;
  for (auto& [k, v] : d.read_output<wserde, serdes::optional<serdes::int64>>(topic))
    out.push_back({k.key, k.start, k.end, v});
  return out;
}

void pipe(topology_test_driver& d, const std::string& key, int64_t ts, const std::string& value = "{}") {
  d.pipe("in", key, value, ts);
}

// Counts per key in windows `w`, every change written to "out".
topology count_topology(const windows& w) {
  topology_builder b;
  b.stream<serdes::string, serdes::json>("in").group_by_key().windowed_by(w).count("counts").to("out");
  return b.build();
}

} // namespace

TEST(windowing, tumbling_record_at_end_goes_to_next_window) {
  topology_test_driver d{count_topology(tumbling(10s))};
  pipe(d, "a", 0);
  pipe(d, "a", 9999);
  pipe(d, "a", 10000); // end is exclusive: [10000, 20000)
  pipe(d, "b", 10000);
  EXPECT_EQ(
    counts(d, "out"),
    (std::vector<wcount>{{"a", 0, 10000, 1}, {"a", 0, 10000, 2}, {"a", 10000, 20000, 1}, {"b", 10000, 20000, 1}}));
}

TEST(windowing, tumbling_windows_are_epoch_aligned_also_before_the_epoch) {
  topology_test_driver d{count_topology(tumbling(10s))};
  pipe(d, "a", -1);
  pipe(d, "a", 1'700'000'003'456);
  EXPECT_EQ(counts(d, "out"),
            (std::vector<wcount>{{"a", -10000, 0, 1}, {"a", 1'700'000'000'000, 1'700'000'010'000, 1}}));
}

TEST(windowing, hopping_current_emission_updates_every_window_of_the_record) {
  topology_test_driver d{count_topology(hopping(5s, 1s).grace(10s))};
  // 7000 is in [3000,8000) [4000,9000) [5000,10000) [6000,11000) [7000,12000).
  pipe(d, "a", 7000);
  EXPECT_EQ(counts(d, "out"), (std::vector<wcount>{{"a", 3000, 8000, 1},
                                                   {"a", 4000, 9000, 1},
                                                   {"a", 5000, 10000, 1},
                                                   {"a", 6000, 11000, 1},
                                                   {"a", 7000, 12000, 1}}));
  // 8000 is in [4000,9000) .. [8000,13000): four windows it shares with 7000, one new.
  pipe(d, "a", 8000);
  EXPECT_EQ(counts(d, "out"), (std::vector<wcount>{{"a", 4000, 9000, 2},
                                                   {"a", 5000, 10000, 2},
                                                   {"a", 6000, 11000, 2},
                                                   {"a", 7000, 12000, 2},
                                                   {"a", 8000, 13000, 1}}));
}

TEST(windowing, final_emission_only_after_stream_time_passes_end_plus_grace) {
  topology_test_driver d{count_topology(tumbling(10s).grace(2s).emit_final())};
  pipe(d, "a", 1000);
  pipe(d, "a", 5000);
  pipe(d, "b", 9000);
  pipe(d, "a", 11000); // stream time 11000 < 10000 + 2000: [0,10000) still open
  EXPECT_TRUE(counts(d, "out").empty());
  pipe(d, "b", 9500); // 1.5 s out of order, within grace: counted
  EXPECT_TRUE(counts(d, "out").empty());
  pipe(d, "a", 12000); // stream time reaches 12000: [0,10000) closes, by start then key
  EXPECT_EQ(counts(d, "out"), (std::vector<wcount>{{"a", 0, 10000, 2}, {"b", 0, 10000, 2}}));
  pipe(d, "b", 13000);
  pipe(d, "a", 21999);
  EXPECT_TRUE(counts(d, "out").empty());
  pipe(d, "c", 22000); // [10000,20000) closes: a has 11000, 12000; b has 13000
  EXPECT_EQ(counts(d, "out"), (std::vector<wcount>{{"a", 10000, 20000, 2}, {"b", 10000, 20000, 1}}));
}

TEST(windowing, late_records_are_counted_and_routed) {
  auto w = tumbling(10s).grace(1s).late_records_to("late");
  topology_test_driver d{count_topology(w)};
  pipe(d, "a", 5000);
  pipe(d, "a", 12000);              // stream time 12000 >= 10000 + 1000: [0,10000) is closed
  pipe(d, "a", 9000, R"({"v":1})"); // late
  pipe(d, "a", 10500);              // [10000,20000) is open: not late
  EXPECT_EQ(counts(d, "out"),
            (std::vector<wcount>{{"a", 0, 10000, 1}, {"a", 10000, 20000, 1}, {"a", 10000, 20000, 2}}));
  EXPECT_EQ(w.late_records->load(), 1u);
  auto late = d.read_output("late");
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].key, "a");
  EXPECT_EQ(late[0].value, R"({"v":1})");
  EXPECT_EQ(late[0].timestamp, 9000);
}

TEST(windowing, lateness_is_judged_against_the_watermark_before_the_batch) {
  // The same records as above, in one batch of four as the runtime would consume them: the
  // watermark moves after the batch, so 9000 is not late yet; a later batch's 9999 is.
  auto w = tumbling(10s).grace(1s);
  topology_test_driver d{count_topology(w), "test", exception_handler::log_and_continue, 4};
  pipe(d, "a", 5000);
  pipe(d, "a", 12000);
  pipe(d, "a", 9000);
  pipe(d, "a", 10500); // the fourth: the batch is processed
  EXPECT_EQ(d.watermark("counts"), 12000);
  EXPECT_EQ(w.late_records->load(), 0u);
  pipe(d, "a", 9999); // [0,10000) closed after the first batch
  EXPECT_EQ(
    counts(d, "out"),
    (std::vector<wcount>{{"a", 0, 10000, 1}, {"a", 10000, 20000, 1}, {"a", 0, 10000, 2}, {"a", 10000, 20000, 2}}));
  EXPECT_EQ(w.late_records->load(), 1u);
}

TEST(windowing, late_records_without_topic_are_dropped_and_counted) {
  auto w = tumbling(10s).emit_final();
  topology_test_driver d{count_topology(w)};
  pipe(d, "a", 5000);
  pipe(d, "a", 10000); // grace 0: [0,10000) closes at 10000
  EXPECT_EQ(counts(d, "out"), (std::vector<wcount>{{"a", 0, 10000, 1}}));
  pipe(d, "a", 9999);
  EXPECT_EQ(w.late_records->load(), 1u);
  pipe(d, "a", 20000);
  EXPECT_EQ(counts(d, "out"), (std::vector<wcount>{{"a", 10000, 20000, 1}})); // 9999 not counted anywhere
}

// Two inputs merged into one windowed count: the watermark is the slower input's.
topology merged_count_topology(const windows& w) {
  topology_builder b;
  auto in = b.stream<serdes::string, serdes::json>("in");
  auto in2 = b.stream<serdes::string, serdes::json>("in2");
  in.merge(in2).group_by_key().windowed_by(w).count("counts").to("out");
  return b.build();
}

TEST(watermark, is_the_minimum_over_inputs) {
  topology_test_driver d{merged_count_topology(tumbling(10s).emit_final())};
  d.pipe("in", "a", "{}", 5000);
  d.pipe("in", "a", "{}", 25000); // "in" is at 25000, "in2" has said nothing: nothing closes
  EXPECT_TRUE(counts(d, "out").empty());
  EXPECT_EQ(d.watermark("counts"), no_watermark);
  d.pipe("in2", "b", "{}", 12000); // min(25000, 12000): [0,10000) closes
  EXPECT_EQ(d.watermark("counts"), 12000);
  EXPECT_EQ(counts(d, "out"), (std::vector<wcount>{{"a", 0, 10000, 1}}));
  d.pipe("in2", "b", "{}", 11000); // behind its own input but not behind the watermark: counted
  d.pipe("in2", "b", "{}", 30000); // min(25000, 30000): [10000,20000) closes with b's two records
  EXPECT_EQ(counts(d, "out"), (std::vector<wcount>{{"b", 10000, 20000, 2}}));
  EXPECT_EQ(d.watermark("counts"), 25000);
}

TEST(watermark, idle_inputs_stop_holding_it_back_and_rejoin) {
  auto w = tumbling(10s).emit_final();
  topology_test_driver d{merged_count_topology(w)};
  d.pipe("in", "a", "{}", 5000);
  d.pipe("in", "a", "{}", 25000);
  d.advance_wall_clock(4999, 5000); // "in2" (empty) has not been silent for 5 s yet
  EXPECT_TRUE(counts(d, "out").empty());
  d.advance_wall_clock(5000, 5000); // both idle: the largest watermark, 25000
  EXPECT_EQ(d.watermark("counts"), 25000);
  EXPECT_EQ(counts(d, "out"), (std::vector<wcount>{{"a", 0, 10000, 1}}));
  d.pipe("in", "a", "{}", 31000); // "in" rejoins; "in2" still idle
  EXPECT_EQ(d.watermark("counts"), 31000);
  EXPECT_EQ(counts(d, "out"), (std::vector<wcount>{{"a", 20000, 30000, 1}}));
  d.pipe("in2", "b", "{}", 1000); // "in2" rejoins behind the watermark, which never moves back: late
  EXPECT_EQ(w.late_records->load(), 1u);
  EXPECT_EQ(d.watermark("counts"), 31000);
}

TEST(watermark, inputs_far_apart_never_expire_open_windows) {
  // Retention counts behind the watermark, not behind the newest window: "in" is far ahead of
  // "in2", whose windows stay until they close.
  topology_test_driver d{merged_count_topology(tumbling(10s).emit_final().retain(20s))};
  d.pipe("in", "a", "{}", 1'000'000);
  d.pipe("in2", "b", "{}", 1000);
  d.pipe("in2", "b", "{}", 20000); // watermark 20000: [0,10000) closes with b@1000
  EXPECT_EQ(counts(d, "out"), (std::vector<wcount>{{"b", 0, 10000, 1}}));
}

TEST(watermark, never_comes_from_the_wall_clock) {
  // Replaying 2023 today: however much wall-clock time passes, windows close only by event time.
  auto w = tumbling(10s).emit_final();
  topology_test_driver d{count_topology(w)};
  const int64_t t2023 = 1'672'531'200'000; // 2023-01-01T00:00:00Z
  d.pipe("in", "a", "{}", t2023 + 1000);
  d.advance_wall_clock(int64_t{1} << 50, 5000);
  EXPECT_EQ(d.watermark("counts"), t2023 + 1000);
  EXPECT_TRUE(counts(d, "out").empty());
  d.pipe("in", "a", "{}", t2023 + 2000); // not late
  d.pipe("in", "a", "{}", t2023 + 10000);
  EXPECT_EQ(counts(d, "out"), (std::vector<wcount>{{"a", t2023, t2023 + 10000, 2}}));
  EXPECT_EQ(w.late_records->load(), 0u);
}

TEST(windowing, session_bridging_record_merges_and_retracts_the_old_sessions) {
  topology_test_driver d{count_topology(session(10s).grace(20s))};
  pipe(d, "a", 0);
  pipe(d, "a", 18000); // 18 s after 0: a new session
  pipe(d, "b", 5000);
  EXPECT_EQ(counts(d, "out"), (std::vector<wcount>{{"a", 0, 0, 1}, {"a", 18000, 18000, 1}, {"b", 5000, 5000, 1}}));
  pipe(d, "a", 9000); // 9 s from both: one session [0, 18000]; the two old ones are retracted
  EXPECT_EQ(counts(d, "out"),
            (std::vector<wcount>{{"a", 0, 0, std::nullopt}, {"a", 18000, 18000, std::nullopt}, {"a", 0, 18000, 3}}));
  pipe(d, "a", 28000); // exactly the gap after 18000: extends [0, 18000]
  EXPECT_EQ(counts(d, "out"), (std::vector<wcount>{{"a", 0, 18000, std::nullopt}, {"a", 0, 28000, 4}}));
  pipe(d, "a", 20000); // inside the session: same window, no retraction
  EXPECT_EQ(counts(d, "out"), (std::vector<wcount>{{"a", 0, 28000, 5}}));
}

TEST(windowing, session_final_emission_after_gap_and_grace) {
  topology_test_driver d{count_topology(session(10s).grace(1s).emit_final())};
  pipe(d, "a", 0);
  pipe(d, "a", 5000);
  pipe(d, "b", 16000); // a's session [0,5000] may still grow until 5000 + 10000 + 1000
  EXPECT_TRUE(counts(d, "out").empty());
  pipe(d, "b", 16001); // stream time 16001 > 16000: a's session is final
  EXPECT_EQ(counts(d, "out"), (std::vector<wcount>{{"a", 0, 5000, 2}}));
}

TEST(windowing, sliding_windows_follow_kafka_streams) {
  topology_test_driver d{count_topology(sliding(10s).grace(20s))};
  pipe(d, "a", 10000); // left window [0, 10000]
  EXPECT_EQ(counts(d, "out"), (std::vector<wcount>{{"a", 0, 10000, 1}}));
  pipe(d, "a", 15000); // right window of 10000: [10001, 20001] = {15000}; left [5000, 15000] = {10000, 15000}
  EXPECT_EQ(counts(d, "out"), (std::vector<wcount>{{"a", 10001, 20001, 1}, {"a", 5000, 15000, 2}}));
  pipe(d, "a", 21000); // right of 15000: [15001, 25001] = {21000}; left [11000, 21000] = {15000, 21000}
  EXPECT_EQ(counts(d, "out"), (std::vector<wcount>{{"a", 15001, 25001, 1}, {"a", 11000, 21000, 2}}));
  // Out of order: 14000 joins the windows holding it, gets its left window [4000, 14000] =
  // {10000, 14000} and its right window [14001, 24001] = {15000, 21000}.
  pipe(d, "a", 14000);
  EXPECT_EQ(counts(d, "out"), (std::vector<wcount>{{"a", 5000, 15000, 3},
                                                   {"a", 10001, 20001, 2},
                                                   {"a", 11000, 21000, 3},
                                                   {"a", 4000, 14000, 2},
                                                   {"a", 14001, 24001, 2}}));
}

TEST(windowing, sliding_final_emission_closes_after_inclusive_end_plus_grace) {
  topology_test_driver d{count_topology(sliding(10s).emit_final())};
  pipe(d, "a", 10000);
  pipe(d, "b", 10000); // [0, 10000] includes its end: still open at stream time 10000
  EXPECT_TRUE(counts(d, "out").empty());
  pipe(d, "b", 10001); // stream time passes 10000 + 0: both [0, 10000] windows are final
  EXPECT_EQ(counts(d, "out"), (std::vector<wcount>{{"a", 0, 10000, 1}, {"b", 0, 10000, 1}}));
}

TEST(windowing, windowed_built_in_aggregations_to_rows_like_the_cpu_anomaly_tutorial) {
  // SELECT window_start, window_end, hostname, cpu, AVG(usage), MAX(usage)
  // FROM TUMBLE(readings, occurred_at, 30 s) GROUP BY hostname, cpu
  topology_builder b;
  b.stream<serdes::string, serdes::json>("in", consumed<json::value>{timestamps::json_field_ms("occurred_at")})
    .group_by(
      [](const std::string&, const json::value& r) {
        return json::value{{"hostname", r.at("hostname")}, {"cpu", r.at("cpu")}};
      },
      "by-host-cpu")
    .windowed_by(tumbling(30s).emit_final())
    .agg({agg::mean("usage", "usage_avg"), agg::max("usage", "usage_max")}, "usage-30s")
    .to_rows()
    .to("out");
  auto t = b.build();
  std::string store;
  for (const auto& n : t.nodes())
    if (n.store) {
      store = n.store->name;
      EXPECT_TRUE(n.store->windowed);
      EXPECT_GE(n.store->retention_ms, 30000);
    }
  EXPECT_EQ(store, "usage-30s-store");
  topology_test_driver d{t, "app"};
  d.pipe("in", "", R"({"occurred_at": 1000, "hostname": "h1", "cpu": "cpu0", "usage": 90})");
  d.pipe("in", "", R"({"occurred_at": 2000, "hostname": "h1", "cpu": "cpu1", "usage": 85})");
  d.pipe("in", "", R"({"occurred_at": 29999, "hostname": "h1", "cpu": "cpu0", "usage": 95})");
  EXPECT_EQ(d.read_output("app-by-host-cpu-repartition").size(), 3u);
  d.pipe("in", "", R"({"occurred_at": 30000, "hostname": "h1", "cpu": "cpu0", "usage": 81})");
  auto out = d.read_output("out");
  ASSERT_EQ(out.size(), 2u);
  // By window start, then serialized key: {"hostname":"h1","cpu":"cpu0"} < ..."cpu1"}.
  EXPECT_EQ(json::parse(out[0].value),
            json::parse(
              R"({"hostname":"h1","cpu":"cpu0","window_start":0,"window_end":30000,"usage_avg":92.5,"usage_max":95})"));
  EXPECT_EQ(
    json::parse(out[1].value),
    json::parse(R"({"hostname":"h1","cpu":"cpu1","window_start":0,"window_end":30000,"usage_avg":85,"usage_max":85})"));
  EXPECT_EQ(json::parse(out[0].key), json::parse(R"({"hostname":"h1","cpu":"cpu0"})"));
  EXPECT_EQ(out[0].timestamp, 30000);
}

TEST(windowing, windowed_aggregate_and_reduce_use_the_serde_of_the_aggregate) {
  topology_builder b;
  auto w = b.stream<serdes::string, serdes::int64>("in").group_by_key().windowed_by(tumbling(10s));
  w.aggregate([] { return std::string{}; },
              [](const std::string&, int64_t v, std::string agg) { return agg + std::to_string(v); }, "concat")
    .to_stream()
    .to("concat");
  w.reduce([](int64_t a, int64_t v) { return std::max(a, v); }, "max").to_stream().to("max");
  topology_test_driver d{b.build()};
  for (auto [v, ts] : {std::pair<int64_t, int64_t>{3, 1}, {7, 2}, {5, 3}, {1, 10000}})
    d.pipe<serdes::string, serdes::int64>("in", "k", v, ts);
  std::vector<std::string> concat;
  for (auto& [k, v] : d.read_output<wserde, serdes::string>("concat"))
    concat.push_back(std::to_string(k.start) + ":" + v);
  EXPECT_EQ(concat, (std::vector<std::string>{"0:3", "0:37", "0:375", "10000:1"}));
  std::vector<int64_t> maxes;
  for (auto& [k, v] : d.read_output<wserde, serdes::int64>("max"))
    maxes.push_back(v);
  EXPECT_EQ(maxes, (std::vector<int64_t>{3, 7, 7, 1}));
}

TEST(windowing, session_aggregate_needs_a_merger) {
  topology_builder b;
  auto w = b.stream<serdes::string, serdes::int64>("in").group_by_key().windowed_by(session(1s));
  EXPECT_THROW(w.aggregate([] { return int64_t{0}; }, [](const std::string&, int64_t v, int64_t a) { return a + v; }),
               topology_error);
  w.aggregate([] { return int64_t{0}; }, [](const std::string&, int64_t v, int64_t a) { return a + v; },
              [](const std::string&, int64_t a, int64_t c) { return a + c; }, "sum")
    .to_stream()
    .to("out");
  topology_test_driver d{b.build()};
  d.pipe<serdes::string, serdes::int64>("in", "k", 2, 0);
  d.pipe<serdes::string, serdes::int64>("in", "k", 3, 2000);
  d.pipe<serdes::string, serdes::int64>("in", "k", 4, 1000); // bridges: 2 + 3 + 4
  auto out = d.read_output<wserde, serdes::int64>("out");
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2].first, (wkey{"k", 0, 2000}));
  EXPECT_EQ(out[2].second, 9);
}

TEST(windowing, bad_window_definitions_are_rejected) {
  topology_builder b;
  auto g = b.stream<serdes::string, serdes::json>("in").group_by_key();
  EXPECT_THROW(g.windowed_by(hopping(1s, 2s)).count(), topology_error);
  EXPECT_THROW(g.windowed_by(tumbling(0s)).count(), topology_error);
}

TEST(watermark, a_batch_ends_where_the_topic_changes) {
  topology_test_driver d{merged_count_topology(tumbling(10s)), "test", exception_handler::log_and_continue, 100};
  d.pipe("in", "a", "{}", 1000);
  d.pipe("in", "a", "{}", 2000);
  EXPECT_EQ(counts(d, "out"), (std::vector<wcount>{{"a", 0, 10000, 1}, {"a", 0, 10000, 2}}))
    << "read_output processes the batch being piped";
  d.pipe("in", "a", "{}", 3000);
  d.pipe("in2", "b", "{}", 4000); // "in"'s batch is processed before this record joins a batch of "in2"
  d.pipe("in2", "b", "{}", 5000);
  EXPECT_EQ(d.watermark("counts"), 3000) << "min(in at 3000, in2 at 5000)";
  EXPECT_EQ(counts(d, "out"), (std::vector<wcount>{{"a", 0, 10000, 3}, {"b", 0, 10000, 1}, {"b", 0, 10000, 2}}));
}
