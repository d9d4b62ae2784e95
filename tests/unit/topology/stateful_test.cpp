// Timestamp extractors, grouping, non-windowed aggregations, tables and top-n on the test driver.
#include <sluice/topology/stream.hpp>
#include <sluice/topology/test_driver.hpp>

#include <gtest/gtest.h>

namespace json = boost::json;
using namespace sluice;

namespace {

// Event times the source assigned, as seen on the output records.
std::vector<int64_t> timestamps_of(const std::vector<test_output_record>& rs) {
  std::vector<int64_t> out;
  for (const auto& r : rs)
    out.push_back(r.timestamp);
  return out;
}

topology extractor_topology(consumed<json::value> c) {
  topology_builder b;
  b.stream<serdes::string, serdes::json>("in", std::move(c)).to("out");
  return b.build();
}

} // namespace

TEST(timestamps, json_field_in_ms_ns_and_fractional_seconds) {
  topology_test_driver ms{extractor_topology({timestamps::json_field_ms("t")})};
  ms.pipe("in", "k", R"({"t": 1700000000123})", 5);
  ms.pipe("in", "k", R"({"t": 1700000000123.9})", 5);
  EXPECT_EQ(timestamps_of(ms.read_output("out")), (std::vector<int64_t>{1700000000123, 1700000000123}));

  topology_test_driver ns{extractor_topology({timestamps::json_field_ns("t")})};
  ns.pipe("in", "k", R"({"t": 1700000000123456789})", 5);
  EXPECT_EQ(timestamps_of(ns.read_output("out")), (std::vector<int64_t>{1700000000123}));

  topology_test_driver s{extractor_topology({timestamps::json_field_seconds("t")})};
  s.pipe("in", "k", R"({"t": 1700000000.123})", 5);
  s.pipe("in", "k", R"({"t": 1700000000})", 5);
  EXPECT_EQ(timestamps_of(s.read_output("out")), (std::vector<int64_t>{1700000000123, 1700000000000}));
}

TEST(timestamps, date_time_strings_utc_and_iso_8601) {
  // 1700000000 s = 2023-11-14 22:13:20 UTC.
  EXPECT_EQ(parse_datetime_ms("2023-11-14 22:13:20.123456"), 1700000000123);
  EXPECT_EQ(parse_datetime_ms("2023-11-14 22:13:20"), 1700000000000);
  EXPECT_EQ(parse_datetime_ms("2023-11-14T22:13:20Z"), 1700000000000);
  EXPECT_EQ(parse_datetime_ms("2023-11-14T23:13:20.5+01:00"), 1700000000500);
  EXPECT_EQ(parse_datetime_ms("2023-11-14T21:43:20.5-0030"), 1700000000500);
  EXPECT_EQ(parse_datetime_ms("1969-12-31 23:59:59.999"), -1);
  EXPECT_EQ(parse_datetime_ms("2023-11-14"), std::nullopt);
  EXPECT_EQ(parse_datetime_ms("2023-13-14 22:13:20"), std::nullopt);
  EXPECT_EQ(parse_datetime_ms("2023-11-14 22:13:20x"), std::nullopt);

  topology_test_driver d{extractor_topology({timestamps::json_field_datetime("at")})};
  d.pipe("in", "k", R"({"at": "2023-11-14 22:13:20.123456"})", 5);
  EXPECT_EQ(timestamps_of(d.read_output("out")), (std::vector<int64_t>{1700000000123}));
}

TEST(timestamps, date_time_strings_name_calendar_dates_only) {
  EXPECT_EQ(parse_datetime_ms("2024-02-29T00:00:00Z"), 1709164800000);
  EXPECT_EQ(parse_datetime_ms("2023-02-29T00:00:00Z"), std::nullopt); // not a leap year
  EXPECT_EQ(parse_datetime_ms("2024-02-30T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_datetime_ms("2023-04-31 12:00:00"), std::nullopt);
  EXPECT_EQ(parse_datetime_ms("1900-02-29 12:00:00"), std::nullopt);
  EXPECT_EQ(parse_datetime_ms("2000-02-29 00:00:00"), 951782400000);
  EXPECT_EQ(parse_datetime_ms("2016-12-31T23:59:60Z"), 1483228800000); // a leap second
}

TEST(timestamps, numbers_outside_int64_are_no_event_time) {
  const record_meta meta{};
  auto read = [&](auto extractor, const char* json_text) {
    return extractor(json::value{{"t", serdes::parse_json(json_text)}}, meta);
  };
  EXPECT_EQ(read(timestamps::json_field_ms("t"), "1e300"), std::nullopt);
  EXPECT_EQ(read(timestamps::json_field_ms("t"), "-1e19"), std::nullopt);
  EXPECT_EQ(read(timestamps::json_field_ms("t"), "18446744073709551615"), std::nullopt);
  EXPECT_EQ(read(timestamps::json_field_ms("t"), "9223372036854775807"), INT64_MAX);
  EXPECT_EQ(read(timestamps::json_field_ms("t"), "-1.5"), -2);
  EXPECT_EQ(read(timestamps::json_field_ns("t"), "1e30"), std::nullopt);
  EXPECT_EQ(read(timestamps::json_field_ns("t"), "1.7e18"), 1700000000000);
  EXPECT_EQ(read(timestamps::json_field_ns("t"), "-0.5"), -1);
  EXPECT_EQ(read(timestamps::json_field_seconds("t"), "3e33"), std::nullopt);
  EXPECT_EQ(read(timestamps::json_field_seconds("t"), "18446744073709551615"), std::nullopt);
  EXPECT_EQ(read(timestamps::json_field_seconds("t"), "-1700000000.5"), -1700000000500);
}

TEST(timestamps, json_text_fields_give_what_the_same_json_value_fields_give) {
  const record_meta meta{};
  const std::vector<std::string> fields{"1700000000123",
                                        "1700000000123.9",
                                        "1700000000123456789",
                                        "1700000000.123",
                                        "1e300",
                                        "-1e19",
                                        "18446744073709551615",
                                        "9223372036854775807",
                                        "-1.5",
                                        "-0.5",
                                        "3e33",
                                        "1e400",
                                        "\"2023-11-14 22:13:20.123456\"",
                                        "\"2023-11-14T23:13:20.5+01:00\"",
                                        "\"not a date\"",
                                        "true",
                                        "null",
                                        "[1]"};
  auto same = [&](auto on_value, auto on_text) {
    for (const auto& f : fields) {
      const auto object = R"({"x":1,"t":)" + f + "}";
      EXPECT_EQ(on_text(json_text{object}, meta), on_value(serdes::parse_json(object), meta)) << f;
    }
    EXPECT_EQ(on_text(json_text{R"({"x":1})"}, meta), std::nullopt); // absent
    EXPECT_EQ(on_text(json_text{"[1,2]"}, meta), std::nullopt);      // no object
  };
  same(timestamps::json_field_ms("t"), timestamps::json_field_ms<json_text>("t"));
  same(timestamps::json_field_ns("t"), timestamps::json_field_ns<json_text>("t"));
  same(timestamps::json_field_seconds("t"), timestamps::json_field_seconds<json_text>("t"));
  same(timestamps::json_field_datetime("t"), timestamps::json_field_datetime<json_text>("t"));
}

TEST(timestamps, record_timestamp_by_default_and_custom_function) {
  topology_test_driver d{extractor_topology({})};
  d.pipe("in", "k", "{}", 42);
  EXPECT_EQ(timestamps_of(d.read_output("out")), (std::vector<int64_t>{42}));

  topology_test_driver f{extractor_topology({timestamps::function<json::value>(
    [](const json::value& v) { return std::optional<int64_t>{v.at("minute").to_number<int64_t>() * 60000}; })})};
  f.pipe("in", "k", R"({"minute": 2})", 42);
  EXPECT_EQ(timestamps_of(f.read_output("out")), (std::vector<int64_t>{120000}));
}

TEST(timestamps, missing_timestamp_is_a_processing_failure_unless_fallback_is_explicit) {
  topology_test_driver strict{extractor_topology({timestamps::json_field_ms("t"), false, "readings"}), "app"};
  strict.pipe("in", "k", R"({"t": 7})", 1);
  strict.pipe("in", "k", R"({"u": 7})", 2);
  strict.pipe("in", "k", R"({"t": "soon"})", 3);
  EXPECT_EQ(timestamps_of(strict.read_output("out")), (std::vector<int64_t>{7}));
  auto dlq = strict.read_output("app-dlq");
  ASSERT_EQ(dlq.size(), 2u);
  EXPECT_EQ(dlq[0].headers.at("error.node"), "readings");
  EXPECT_EQ(dlq[0].headers.at("source.offset"), "1");

  topology_test_driver lenient{extractor_topology({timestamps::json_field_ms("t"), true}), "app"};
  lenient.pipe("in", "k", R"({"u": 7})", 2);
  EXPECT_EQ(timestamps_of(lenient.read_output("out")), (std::vector<int64_t>{2}));
  EXPECT_TRUE(lenient.read_output("app-dlq").empty());
}

TEST(aggregations, count_sum_mean_min_max_in_one_object) {
  topology_builder b;
  b.stream<serdes::string, serdes::json>("in")
    .group_by_key()
    .agg({agg::count(), agg::sum("x"), agg::mean("x"), agg::min("x"), agg::max("x", "top")}, "stats")
    .to_stream()
    .to("out");
  topology_test_driver d{b.build()};
  for (auto v : {R"({"x": 3})", R"({"x": 1})", R"({"x": 8.5})", R"({"y": 1})"})
    d.pipe("in", "k", v);
  d.pipe("in", "other", R"({"y": 1})");
  auto out = d.read_output("out");
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(json::parse(out[0].value), json::parse(R"({"count":1,"x_sum":3,"x_avg":3,"x_min":3,"top":3})"));
  EXPECT_EQ(json::parse(out[2].value),
            json::parse(R"({"count":3,"x_sum":12.5,"x_avg":4.166666666666667,"x_min":1,"top":8.5})"));
  // A record without the field counts but does not change the field aggregations (SQL NULL).
  EXPECT_EQ(json::parse(out[3].value),
            json::parse(R"({"count":4,"x_sum":12.5,"x_avg":4.166666666666667,"x_min":1,"top":8.5})"));
  EXPECT_EQ(json::parse(out[4].value), json::parse(R"({"count":1,"x_sum":0,"x_avg":null,"x_min":null,"top":null})"));
}

TEST(aggregations, non_numeric_field_is_a_processing_failure) {
  topology_builder b;
  b.stream<serdes::string, serdes::json>("in").group_by_key().agg({agg::sum("x")}, "sums").to_stream().to("out");
  topology_test_driver d{b.build(), "app"};
  d.pipe("in", "k", R"({"x": "three"})");
  d.pipe("in", "k", R"({"x": 2})");
  auto out = d.read_output("out");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].value, R"({"x_sum":2})");
  EXPECT_EQ(d.read_output("app-dlq").size(), 1u);
}

TEST(aggregations, count_reduce_aggregate_per_key) {
  topology_builder b;
  auto g = b.stream<serdes::string, serdes::int64>("in").group_by_key();
  g.count("count").to_stream().to("count");
  g.reduce([](int64_t a, int64_t v) { return a + v; }, "sum").to_stream().to("sum");
  g.aggregate(
     [] {
       return json::value{{"n", 0}};
     },
     [](const std::string&, int64_t v, json::value a) {
       a.as_object()["n"] = a.at("n").to_number<int64_t>() + v * 10;
       return a;
     },
     "json-agg")
    .to_stream()
    .to("agg");
  topology_test_driver d{b.build()};
  for (auto [k, v] : {std::pair<std::string, int64_t>{"a", 1}, {"b", 2}, {"a", 3}})
    d.pipe<serdes::string, serdes::int64>("in", k, v);
  std::vector<std::pair<std::string, int64_t>> expect_count{{"a", 1}, {"b", 1}, {"a", 2}};
  std::vector<std::pair<std::string, int64_t>> expect_sum{{"a", 1}, {"b", 2}, {"a", 4}};
  EXPECT_EQ((d.read_output<serdes::string, serdes::int64>("count")), expect_count);
  EXPECT_EQ((d.read_output<serdes::string, serdes::int64>("sum")), expect_sum);
  auto agg = d.read_output("agg");
  ASSERT_EQ(agg.size(), 3u);
  EXPECT_EQ(agg[2].value, R"({"n":40})");
}

TEST(aggregations, stores_are_declared_with_unique_names) {
  topology_builder b;
  auto g = b.stream<serdes::string, serdes::int64>("in").group_by_key();
  g.count();
  g.count();
  g.windowed_by(tumbling(std::chrono::seconds{30}).grace(std::chrono::seconds{5})).count("w");
  auto t = b.build();
  std::vector<store_spec> specs;
  for (const auto& n : t.nodes())
    if (n.store)
      specs.push_back(*n.store);
  ASSERT_EQ(specs.size(), 3u);
  EXPECT_NE(specs[0].name, specs[1].name);
  EXPECT_FALSE(specs[0].windowed);
  EXPECT_EQ(specs[2].name, "w-store");
  EXPECT_TRUE(specs[2].windowed);
  EXPECT_EQ(specs[2].retention_ms, 24 * 3600 * 1000);
  EXPECT_EQ(t.with_application_id("app").changelog_topic(specs[2].name), "app-w-store-changelog");
}

TEST(grouping, group_by_goes_through_the_repartition_topic) {
  topology_builder b;
  b.stream<serdes::string, serdes::json>("in")
    .group_by([](const std::string&, const json::value& v) { return std::string{v.at("user").as_string()}; }, "by-user")
    .count("clicks")
    .to_stream()
    .to("out");
  auto t = b.build();
  EXPECT_EQ(t.subtopologies().size(), 2u); // the repartition topic splits the graph
  topology_test_driver d{t, "app"};
  EXPECT_EQ(d.read_output("app-by-user-repartition").size(), 0u);
  d.pipe("in", "page1", R"({"user": "u1"})");
  d.pipe("in", "page2", R"({"user": "u2"})");
  d.pipe("in", "page3", R"({"user": "u1"})");
  auto repartitioned = d.read_output("app-by-user-repartition");
  ASSERT_EQ(repartitioned.size(), 3u);
  EXPECT_EQ(repartitioned[0].key, "u1");
  std::vector<std::pair<std::string, int64_t>> expect{{"u1", 1}, {"u2", 1}, {"u1", 2}};
  EXPECT_EQ((d.read_output<serdes::string, serdes::int64>("out")), expect);
}

TEST(grouping, group_by_with_explicit_serdes) {
  topology_builder b;
  b.stream<serdes::string, serdes::json>("in")
    .group_by([](const std::string&, const json::value& v) { return v.at("n").to_number<int64_t>(); },
              grouped<serdes::int64, serdes::json>{"by-n"})
    .count("per-n")
    .to_stream()
    .to("out");
  topology_test_driver d{b.build(), "app"};
  d.pipe("in", "k", R"({"n": 7})");
  std::vector<std::pair<int64_t, int64_t>> expect{{7, 1}};
  EXPECT_EQ((d.read_output<serdes::int64, serdes::int64>("out")), expect);
  EXPECT_EQ(d.read_output("app-by-n-repartition")[0].key, std::string("\0\0\0\0\0\0\0\x07", 8));
}

TEST(tables, latest_value_per_key_and_tombstones_delete) {
  topology_builder b;
  auto t = b.table<serdes::string, serdes::json>("prices", {{}, false, "prices"});
  t.to("changes");
  t.to_stream().to("updates");
  t.filter([](const json::value& v) { return v.at("p").to_number<double>() > 10; }).to("expensive");
  t.map_values([](const json::value& v) { return v.at("p").to_number<int64_t>(); }).to_stream().to("ints");
  auto topo = b.build();
  EXPECT_EQ(topo.nodes()[0].store->name, "prices-store");
  topology_test_driver d{topo};
  d.pipe("prices", "a", R"({"p": 5})");
  d.pipe("prices", "b", R"({"p": 20})");
  d.pipe("prices", "a", R"({"p": 15})");
  d.pipe("prices", "a", ""); // tombstone
  auto changes = d.read_output<serdes::string, serdes::optional<serdes::json>>("changes");
  ASSERT_EQ(changes.size(), 4u);
  EXPECT_EQ(changes[2].second, json::parse(R"({"p": 15})"));
  EXPECT_EQ(changes[3].first, "a");
  EXPECT_FALSE(changes[3].second);
  EXPECT_EQ(d.read_output("updates").size(), 3u);
  std::vector<std::string> expensive;
  for (auto& r : d.read_output("expensive"))
    expensive.push_back(r.key + "=" + r.value);
  EXPECT_EQ(expensive, (std::vector<std::string>{"a=", R"(b={"p":20})", R"(a={"p":15})", "a="}));
  std::vector<std::pair<std::string, int64_t>> ints{{"a", 5}, {"b", 20}, {"a", 15}};
  EXPECT_EQ((d.read_output<serdes::string, serdes::int64>("ints")), ints);
}

TEST(tables, top_n_ranks_the_worst_products_by_average_rating) {
  topology_builder b;
  b.stream<serdes::string, serdes::json>("ratings")
    .group_by_key()
    .agg({agg::mean("stars", "avg")}, "avg-rating")
    .top_n(
      2, [](const json::value& v) { return v.at("avg").to_number<double>(); }, ranking_order::ascending,
      "worst-products")
    .to_stream()
    .to("worst");
  auto t = b.build();
  topology_test_driver d{t, "app"};
  auto rate = [&](const std::string& product, int stars) {
    d.pipe("ratings", product, R"({"stars": )" + std::to_string(stars) + "}");
  };
  auto ranking = [&] {
    std::vector<std::string> out;
    for (auto& r : d.read_output("worst")) {
      EXPECT_EQ(r.key, "worst-products");
      std::string line;
      const auto parsed = json::parse(r.value);
      for (const auto& e : parsed.as_array())
        line += std::string{e.at("key").as_string()} + ":" + serialize(e.at("score")) + " ";
      out.push_back(line);
    }
    return out;
  };
  rate("p1", 5);
  rate("p2", 1);
  rate("p3", 3);
  EXPECT_EQ(ranking(), (std::vector<std::string>{"p1:5 ", "p2:1 p1:5 ", "p2:1 p3:3 "}));
  EXPECT_EQ(d.read_output("app-worst-products-repartition").size(), 3u);
  rate("p2", 5); // p2 averages 3: ties with p3, broken by key
  EXPECT_EQ(ranking(), (std::vector<std::string>{"p2:3 p3:3 "}));
  rate("p1", 5); // p1 stays out of the two worst: no new ranking
  EXPECT_TRUE(ranking().empty());
  rate("p1", 1); // (5+5+1)/3 = 3.67: the two worst are still p2 and p3, no new ranking
  EXPECT_TRUE(ranking().empty());
  rate("p1", 1); // (5+5+1+1)/4 = 3: three-way tie at 3, broken by key
  EXPECT_EQ(ranking(), (std::vector<std::string>{"p1:3 p2:3 "}));
}

TEST(tables, top_n_drops_deleted_rows) {
  topology_builder b;
  b.table<serdes::string, serdes::json>("scores")
    .top_n(
      3, [](const json::value& v) { return v.at("s").to_number<double>(); }, ranking_order::descending, "best")
    .to_stream()
    .to("best");
  topology_test_driver d{b.build()};
  d.pipe("scores", "x", R"({"s": 1})");
  d.pipe("scores", "y", R"({"s": 2})");
  d.pipe("scores", "y", "");
  auto out = d.read_output("best");
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(json::parse(out[1].value).as_array().size(), 2u);
  EXPECT_EQ(json::parse(out[1].value).as_array()[0].at("key"), "y");
  EXPECT_EQ(json::parse(out[2].value).as_array().size(), 1u);
}
