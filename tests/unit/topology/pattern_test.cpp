#include <sluice/topology/pattern.hpp>

#include "state/in_memory_store.hpp"
#include <sluice/topology/test_driver.hpp>

#include <gtest/gtest.h>

#include <chrono>

namespace json = boost::json;
using namespace sluice;

namespace {

// A per-topping window count, as a windowed aggregation's rows look.
std::string count_row(const std::string& topping, int64_t window_start, int64_t nr_orders) {
  std::string out;
  serdes::write_json(json::object{{"topping", topping}, {"window_start", window_start}, {"nr_orders", nr_orders}}, out);
  return out;
}

// "10 -> 15 -> 9": the nr_orders of `rows`.
std::string detail_of(std::span<const json::value> rows) {
  std::string out;
  for (const auto& r : rows) {
    if (!out.empty())
      out += " -> ";
    serdes::write_json(r.at("nr_orders"), out);
  }
  return out;
}

// The tutorial's measures: topping, START_ROW's window, the counts of the match.
json::value trend_measures(const match_view& m) {
  return json::object{{"topping", m.first("START_ROW").at("topping")},
                      {"trend_start", m.first("START_ROW").at("window_start")},
                      {"trend_detail", detail_of(m.all())}};
}

// Exercise 4: PATTERN (START_ROW NR_UP NR_DOWN), NR_UP above START_ROW, NR_DOWN more than 30 %
// below NR_UP.
pattern_spec tutorial_trend() {
  return pattern_spec{
    .steps = {{"START_ROW"},
              {"NR_UP", quantifier::one(),
               [](const json::value& row, const match_view& m) {
                 return number_at(row, "nr_orders") > number_at(m.last("START_ROW"), "nr_orders");
               }},
              {"NR_DOWN", quantifier::one(),
               [](const json::value& row, const match_view& m) {
                 const double up = number_at(m.last("NR_UP"), "nr_orders");
                 return (up - number_at(row, "nr_orders")) * 100.0 / up > 30;
               }}},
    .measures = trend_measures,
  };
}

// The deployed variant: PATTERN (START_ROW NR_UP+ NR_DOWN{2}), each NR_UP above the row before
// it, each NR_DOWN below it.
pattern_spec deployed_trend() {
  auto rising = [](const json::value& row, const match_view& m) {
    return number_at(row, "nr_orders") > number_at(*m.previous(), "nr_orders");
  };
  auto falling = [](const json::value& row, const match_view& m) {
    return number_at(row, "nr_orders") < number_at(*m.previous(), "nr_orders");
  };
  return pattern_spec{
    .steps = {{"START_ROW"},
              {"NR_UP", quantifier::one_or_more(), rising},
              {"NR_DOWN", quantifier::exactly(2), falling}},
    .measures =
      [](const match_view& m) {
        auto v = trend_measures(m);
        v.as_object()["nr_up"] = m.rows("NR_UP").size();
        return v;
      },
  };
}

// A driver over counts -> match_recognize(spec) -> trends.
struct trend_run {
  explicit trend_run(pattern_spec spec) : driver{build(std::move(spec))} {}

  static topology build(pattern_spec spec) {
    topology_builder b;
    match_recognize(b.stream<serdes::string, serdes::json>("counts"), std::move(spec), "TRENDS").to("trends");
    return b.build();
  }

  // Pipes the counts of `topping` for consecutive 5 s windows from `first_window` (ms).
  void feed(const std::string& topping, std::vector<int64_t> counts, int64_t first_window = 0) {
    for (size_t i = 0; i < counts.size(); ++i) {
      const auto w = first_window + static_cast<int64_t>(i) * 5000;
      driver.pipe("counts", topping, count_row(topping, w, counts[i]), w + 5000);
    }
  }

  std::vector<std::string> values() {
    std::vector<std::string> out;
    for (auto& r : driver.read_output("trends"))
      out.push_back(r.value);
    return out;
  }

  topology_test_driver driver;
};

// Feeds `values` one at a time through a matcher as the operator does and returns each match
// as "STEP[v,v] STEP[] ...", so quantifier behaviour can be checked without a topology.
std::vector<std::string> match_values(pattern_spec spec, std::vector<int> values) {
  spec.measures = [names = spec.steps](const match_view& m) {
    std::string out;
    for (const auto& s : names) {
      out += (out.empty() ? "" : " ") + s.name + "[";
      bool first = true;
      for (const auto& r : m.rows(s.name)) {
        out += (first ? "" : ",") + std::to_string(r.at("v").as_int64());
        first = false;
      }
      out += "]";
    }
    return json::value(out);
  };
  validate(spec);
  pattern_matcher matcher{std::make_shared<const pattern_spec>(spec)};
  std::vector<json::value> rows;
  std::vector<std::string> out;
  size_t start = 0;
  for (int v : values) {
    rows.push_back(json::object{{"v", v}, {"nr_orders", v}});
    start = matcher.run(rows, start, [&](json::value m) { out.push_back(std::string{m.as_string()}); });
  }
  return out;
}

step_predicate equals(int x) {
  return [x](const json::value& row, const match_view&) { return row.at("v").as_int64() == x; };
}

} // namespace

TEST(pattern, tutorial_trend_up_then_down_by_more_than_30_percent) {
  trend_run run{tutorial_trend()};
  // 10 -> 15 -> 9: 15 > 10, 9 is 40 % below 15: a trend starting at window 0.
  // Then 12 -> 11 fails (11 < 12); from 11: 11 -> 20 -> 13 (35 % below 20), window 20000.
  run.feed("pineapple", {10, 15, 9, 12, 11, 20, 13});
  auto out = run.driver.read_output("trends");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].key, "pineapple");
  EXPECT_EQ(out[0].value, R"({"topping":"pineapple","trend_start":0,"trend_detail":"10 -> 15 -> 9"})");
  EXPECT_EQ(out[0].timestamp, 15000); // the record completing the match
  EXPECT_EQ(out[1].value, R"({"topping":"pineapple","trend_start":20000,"trend_detail":"11 -> 20 -> 13"})");
}

TEST(pattern, tutorial_trend_needs_strictly_more_than_30_percent) {
  trend_run run{tutorial_trend()};
  // 10 -> 20 -> 14 is exactly 30 % below: no trend. From 20: 14 is not up. From 14: 13 not up.
  run.feed("pineapple", {10, 20, 14, 13});
  EXPECT_TRUE(run.values().empty());
  // From 13: 13 -> 20 -> 9 (55 % below), START_ROW in window 15000.
  run.feed("pineapple", {20, 9}, 20000);
  EXPECT_EQ(run.values(),
            std::vector<std::string>{R"({"topping":"pineapple","trend_start":15000,"trend_detail":"13 -> 20 -> 9"})"});
}

TEST(pattern, failed_attempt_restarts_from_the_next_buffered_row) {
  trend_run run{tutorial_trend()};
  // From 5: 5 -> 8 up, 20 is not down: fail. Retrying from 8 (already used as NR_UP):
  // 8 -> 20 -> 10 (50 % below) matches, START_ROW in window 5000.
  run.feed("pineapple", {5, 8, 20, 10});
  EXPECT_EQ(run.values(),
            std::vector<std::string>{R"({"topping":"pineapple","trend_start":5000,"trend_detail":"8 -> 20 -> 10"})"});
}

TEST(pattern, deployed_trend_rising_then_two_falling) {
  trend_run run{deployed_trend()};
  // 3 -> 5 -> 8 rising, 6 -> 4 falling: one match with two NR_UP rows.
  // Then from 7: 7 -> 9 up, 8 ends NR_UP and falls, 10 does not fall: fail. From 9: 8 not up.
  // From 8: 8 -> 10 up, 9 -> 6 falling: match with one NR_UP row, START_ROW in window 35000.
  run.feed("banana", {3, 5, 8, 6, 4, 7, 9, 8, 10, 9, 6});
  EXPECT_EQ(run.values(),
            (std::vector<std::string>{
              R"({"topping":"banana","trend_start":0,"trend_detail":"3 -> 5 -> 8 -> 6 -> 4","nr_up":2})",
              R"({"topping":"banana","trend_start":35000,"trend_detail":"8 -> 10 -> 9 -> 6","nr_up":1})"}));
}

TEST(pattern, non_matching_sequences_emit_nothing) {
  trend_run tutorial{tutorial_trend()};
  tutorial.feed("a", {9, 8, 7, 6, 5, 4}); // never up
  tutorial.feed("b", {1, 2, 3, 4, 5, 6}); // never down
  tutorial.feed("c", {5, 5, 5, 5});       // flat
  EXPECT_TRUE(tutorial.values().empty());
  trend_run deployed{deployed_trend()};
  deployed.feed("a", {3, 5, 5, 4, 3}); // a plateau breaks the rise
  deployed.feed("b", {1, 2, 3, 2, 2}); // a plateau breaks the fall
  deployed.feed("c", {4, 3, 2, 1});    // no rise
  EXPECT_TRUE(deployed.values().empty());
}

TEST(pattern, keys_are_matched_independently) {
  trend_run run{tutorial_trend()};
  // Interleaved: pineapple 10, 15, 9 and banana 4, 2, 6, 3; each key sees only its own rows.
  run.driver.pipe("counts", "pineapple", count_row("pineapple", 0, 10), 1);
  run.driver.pipe("counts", "banana", count_row("banana", 0, 4), 2);
  run.driver.pipe("counts", "pineapple", count_row("pineapple", 5000, 15), 3);
  run.driver.pipe("counts", "banana", count_row("banana", 5000, 2), 4);
  run.driver.pipe("counts", "banana", count_row("banana", 10000, 6), 5);
  run.driver.pipe("counts", "pineapple", count_row("pineapple", 10000, 9), 6);
  run.driver.pipe("counts", "banana", count_row("banana", 15000, 3), 7);
  auto out = run.driver.read_output("trends");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].key, "pineapple");
  EXPECT_EQ(out[0].value, R"({"topping":"pineapple","trend_start":0,"trend_detail":"10 -> 15 -> 9"})");
  EXPECT_EQ(out[1].key, "banana");
  EXPECT_EQ(out[1].value, R"({"topping":"banana","trend_start":5000,"trend_detail":"2 -> 6 -> 3"})");
}

TEST(pattern, skip_past_last_row_gives_no_overlapping_matches) {
  trend_run run{tutorial_trend()};
  // 10 -> 15 -> 9 matches. Restarting at 9 would give 9 -> 14 -> 5, but the next attempt
  // starts after the match: 14 -> 5 is not up.
  run.feed("pineapple", {10, 15, 9, 14, 5});
  EXPECT_EQ(run.values(),
            std::vector<std::string>{R"({"topping":"pineapple","trend_start":0,"trend_detail":"10 -> 15 -> 9"})"});

  trend_run deployed{deployed_trend()};
  // 1 -> 2 -> 3 -> 2 -> 1 matches once; 2 -> 3 -> 2 -> 1 inside it is not reported.
  deployed.feed("pineapple", {1, 2, 3, 2, 1});
  EXPECT_EQ(deployed.values().size(), 1u);
}

TEST(pattern, quantifiers) {
  auto not_zero = [](const json::value& row, const match_view&) { return row.at("v").as_int64() != 0; };
  // `*`: zero or more.
  pattern_spec star{.steps = {{"A", quantifier::one(), equals(1)},
                              {"B", quantifier::zero_or_more(), equals(2)},
                              {"C", quantifier::one(), equals(3)}}};
  EXPECT_EQ(match_values(star, {1, 3, 1, 2, 2, 3}), (std::vector<std::string>{"A[1] B[] C[3]", "A[1] B[2,2] C[3]"}));
  // `?`: at most one; 1 2 2 3 fails, then nothing starts with 1.
  pattern_spec opt = star;
  opt.steps[1].times = quantifier::zero_or_one();
  EXPECT_EQ(match_values(opt, {1, 2, 3, 1, 2, 2, 3, 1, 3}),
            (std::vector<std::string>{"A[1] B[2] C[3]", "A[1] B[] C[3]"}));
  // `{2}` and `{1,2}`.
  pattern_spec two{.steps = {{"A", quantifier::exactly(2), equals(1)}, {"B", quantifier::between(1, 2), equals(2)}}};
  EXPECT_EQ(match_values(two, {1, 2, 1, 1, 2, 2, 2}), (std::vector<std::string>{"A[1,1] B[2,2]"}));
  // Greedy B+ followed by C: B takes 3, 3 and 0 fails it; backtracking gives B[3] C[3], known
  // only once 0 arrived. Reluctant B+? stops at the first possible C, without waiting.
  pattern_spec greedy{.steps = {{"A", quantifier::one(), equals(1)},
                                {"B", quantifier::one_or_more(), not_zero},
                                {"C", quantifier::one(), equals(3)}}};
  EXPECT_EQ(match_values(greedy, {1, 3, 3}), std::vector<std::string>{});
  EXPECT_EQ(match_values(greedy, {1, 3, 3, 0}), std::vector<std::string>{"A[1] B[3] C[3]"});
  EXPECT_EQ(match_values(greedy, {1, 5, 3, 3, 0}), std::vector<std::string>{"A[1] B[5,3] C[3]"});
  pattern_spec reluctant = greedy;
  reluctant.steps[1].times = quantifier::one_or_more().reluctant();
  EXPECT_EQ(match_values(reluctant, {1, 3, 3}), std::vector<std::string>{"A[1] B[3] C[3]"});
  // A trailing greedy step ends when a row does not fit; that row may start the next match.
  pattern_spec trailing{.steps = {{"A", quantifier::one(), equals(1)}, {"B", quantifier::one_or_more(), equals(2)}}};
  EXPECT_EQ(match_values(trailing, {1, 2, 2}), std::vector<std::string>{});
  EXPECT_EQ(match_values(trailing, {1, 2, 2, 1, 2, 5}), (std::vector<std::string>{"A[1] B[2,2]", "A[1] B[2]"}));
}

TEST(pattern, attempts_longer_than_max_rows_are_abandoned) {
  // START UP+ DOWN{2} over a long rise: the attempt from 1 would need more than 4 rows, so it is
  // dropped and the match starts from the row that keeps the attempt within 4 rows.
  auto spec = deployed_trend();
  spec.max_rows = 4;
  EXPECT_EQ(match_values(spec, {1, 2, 3, 4, 5, 3, 2}), std::vector<std::string>{"START_ROW[4] NR_UP[5] NR_DOWN[3,2]"});
  spec.max_rows = 5;
  EXPECT_EQ(match_values(spec, {1, 2, 3, 4, 5, 3, 2}),
            std::vector<std::string>{"START_ROW[3] NR_UP[4,5] NR_DOWN[3,2]"});
  spec.max_rows = 1000;
  EXPECT_EQ(match_values(spec, {1, 2, 3, 4, 5, 3, 2}),
            std::vector<std::string>{"START_ROW[1] NR_UP[2,3,4,5] NR_DOWN[3,2]"});
}

TEST(pattern, invalid_specs_are_rejected) {
  auto measures = [](const match_view&) { return json::value{}; };
  EXPECT_THROW(validate(pattern_spec{.steps = {}, .measures = measures}), topology_error);
  EXPECT_THROW(validate(pattern_spec{.steps = {{"A"}}}), topology_error);
  EXPECT_THROW(validate(pattern_spec{.steps = {{"A"}, {"A"}}, .measures = measures}), topology_error);
  EXPECT_THROW(validate(pattern_spec{.steps = {{"A", quantifier::zero_or_more()}}, .measures = measures}),
               topology_error);
  EXPECT_THROW(validate(pattern_spec{.steps = {{"A", quantifier::between(3, 2)}}, .measures = measures}),
               topology_error);
  EXPECT_THROW(validate(pattern_spec{.steps = {{"A"}}, .measures = measures, .max_rows = 0}), topology_error);
  EXPECT_NO_THROW(validate(pattern_spec{.steps = {{"A"}}, .measures = measures}));
}

TEST(pattern, partial_match_state_round_trips) {
  std::vector<json::value> rows{
    json::parse(count_row("🍍 pineapple", 0, 10)),
    json::parse(R"({"x":1.5,"s":"a\"b\n","n":null,"a":[1,{"b":true}],"big":-9007199254740993})")};
  std::string bytes;
  encode_partial_match(rows, bytes);
  EXPECT_EQ(bytes, "[" + count_row("🍍 pineapple", 0, 10) +
                     R"(,{"x":1.5,"s":"a\"b\n","n":null,"a":[1,{"b":true}],"big":-9007199254740993}])");
  std::vector<json::value> back;
  decode_partial_match(bytes, back);
  EXPECT_EQ(back, rows);
  std::string again;
  encode_partial_match(back, again);
  EXPECT_EQ(again, bytes);
  EXPECT_THROW(decode_partial_match("{}", back), std::invalid_argument);
  EXPECT_THROW(decode_partial_match("[1,", back), std::invalid_argument);
}

namespace {

// Just enough context to run one processor over a store the test owns.
class store_context final : public processor_context {
public:
  explicit store_context(key_value_store& store) : store_(store) {}
  void forward(batch_ptr b, int) override { forwarded.push_back(std::move(b)); }
  int sink_topic(const std::string&) override { return 0; }
  void produce(int, std::string_view, std::string_view, const record_meta&, bool) override {}
  void deserialization_failed(const raw_record&, const std::exception&) override {}
  void processing_failed(const record_meta&, std::string_view, const std::exception& e) override {
    failures.push_back(e.what());
  }
  const std::string& task_id() const override { return task_; }
  int64_t watermark() const override { return no_watermark; }
  void observe_event_time(int64_t) override {}
  void late_record(const record_meta&, std::string_view) override {}
  key_value_store& key_value_state() override { return store_; }
  window_store& window_state() override { throw std::logic_error("no window store"); }
  resume_callback defer() override { throw std::logic_error("no defer"); }

  std::vector<batch_ptr> forwarded;
  std::vector<std::string> failures;

private:
  key_value_store& store_;
  std::string task_{"0_0"};
};

batch_ptr one_row(const std::string& topping, int64_t window_start, int64_t nr_orders) {
  auto b = std::make_shared<record_batch<std::string, json::value>>();
  b->records.push_back({topping, json::parse(count_row(topping, window_start, nr_orders)), {window_start + 5000}});
  return b;
}

} // namespace

TEST(pattern, partial_match_survives_a_new_processor_over_the_same_store) {
  topology_builder b;
  match_recognize(b.stream<serdes::string, serdes::json>("counts"), tutorial_trend(), "TRENDS").to("trends");
  auto topo = b.build();
  const topology_node* node = nullptr;
  for (const auto& n : topo.nodes())
    if (n.name == "TRENDS")
      node = &n;
  ASSERT_NE(node, nullptr);
  ASSERT_TRUE(node->store.has_value());
  EXPECT_EQ(node->store->name, "TRENDS-store");

  in_memory_store store{"TRENDS-store"};
  store_context ctx{store};
  {
    auto before = node->make(); // the task before a restart
    before->init(ctx);
    before->process(one_row("pineapple", 0, 10), ctx);
    before->process(one_row("pineapple", 5000, 15), ctx);
  }
  EXPECT_EQ(store.get("pineapple").value(),
            "[" + count_row("pineapple", 0, 10) + "," + count_row("pineapple", 5000, 15) + "]");
  EXPECT_TRUE(ctx.forwarded.empty());

  auto after = node->make(); // restarted (or moved) with the store restored from its changelog
  after->init(ctx);
  after->process(one_row("pineapple", 10000, 9), ctx);
  ASSERT_EQ(ctx.forwarded.size(), 1u);
  auto& out = static_cast<record_batch<std::string, json::value>&>(*ctx.forwarded[0]);
  ASSERT_EQ(out.records.size(), 1u);
  EXPECT_EQ(json::serialize(out.records[0].value),
            R"({"topping":"pineapple","trend_start":0,"trend_detail":"10 -> 15 -> 9"})");
  EXPECT_EQ(store.get("pineapple").value(), std::nullopt); // nothing pending: the key is deleted
  EXPECT_TRUE(ctx.failures.empty());
}

TEST(pattern, a_failing_predicate_dead_letters_the_record_and_keeps_the_state) {
  in_memory_store store{"TRENDS-store"};
  store_context ctx{store};
  detail::match_recognize_processor<std::string, serdes::string> p{
    std::make_shared<const pattern_spec>(tutorial_trend()), "TRENDS"};
  p.process(one_row("pineapple", 0, 10), ctx);
  auto bad = std::make_shared<record_batch<std::string, json::value>>();
  bad->records.push_back({"pineapple", json::object{{"topping", "pineapple"}}, {1}}); // no nr_orders
  p.process(bad, ctx);
  ASSERT_EQ(ctx.failures.size(), 1u);
  EXPECT_EQ(store.get("pineapple").value(), "[" + count_row("pineapple", 0, 10) + "]");
  p.process(one_row("pineapple", 5000, 15), ctx);
  p.process(one_row("pineapple", 10000, 9), ctx);
  EXPECT_EQ(ctx.forwarded.size(), 1u);
}

TEST(pattern, trends_over_final_window_counts_end_to_end) {
  using namespace std::chrono_literals;
  // Orders -> count per topping in 5 s tumbling windows, emitted once each window closes (so
  // per topping, arrival order is window order) -> the tutorial's trend pattern.
  topology_builder b;
  auto counts =
    b.stream<serdes::string, serdes::json>("pizzas")
      .group_by([](const std::string&, const json::value& o) { return std::string{o.at("topping").as_string()}; },
                "by-topping")
      .windowed_by(tumbling(5s).emit_final())
      .count("orders-5s")
      .to_rows()
      .map_values([](const json::value& r) {
        return json::value(
          json::object{{"topping", r.at("key")}, {"window_start", r.at("window_start")}, {"nr_orders", r.at("value")}});
      });
  match_recognize(counts, tutorial_trend(), "trends").to("trends");
  topology_test_driver d{b.build()};
  auto order = [&](const std::string& topping, int64_t ts) {
    d.pipe("pizzas", "order", R"({"topping":")" + topping + R"("})", ts);
  };
  // pineapple: 2, 3, 1 orders in windows 0, 5000, 10000 (1 is 67 % below 3: a trend);
  // banana: 1, 1, 2 (never down).
  for (int64_t ts : {100, 200, 5100, 5200, 5300, 10100})
    order("pineapple", ts);
  for (int64_t ts : {300, 5400, 10200, 10300})
    order("banana", ts);
  EXPECT_TRUE(d.read_output("trends").empty()); // window 10000 still open
  order("banana", 15000);                       // stream time reaches 15000: it closes
  auto out = d.read_output("trends");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].key, "pineapple");
  EXPECT_EQ(out[0].value, R"({"topping":"pineapple","trend_start":0,"trend_detail":"2 -> 3 -> 1"})");
}
