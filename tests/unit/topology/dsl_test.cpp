#include <sluice/topology/stream.hpp>
#include <sluice/topology/test_driver.hpp>

#include <gtest/gtest.h>

namespace json = boost::json;
using namespace sluice;

namespace {

std::vector<std::string> values_of(const std::vector<test_output_record>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs)
    out.push_back(r.value);
  return out;
}

} // namespace

TEST(dsl, filter_and_map_values_keep_order_key_and_timestamp) {
  topology_builder b;
  b.stream<serdes::string, serdes::json>("in")
    .filter([](const std::string&, const json::value& v) { return v.at("usage").to_number<double>() > 80; })
    .map_values([](const json::value& v) {
      return json::value{{"u", v.at("usage")}};
    })
    .to("out");
  topology_test_driver d{b.build()};
  d.pipe("in", "a", R"({"usage": 81})", 10);
  d.pipe("in", "b", R"({"usage": 80})", 11);
  d.pipe("in", "c", R"({"usage": 99.5})", 12);
  auto out = d.read_output("out");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].key, "a");
  EXPECT_EQ(out[0].value, R"({"u":81})");
  EXPECT_EQ(out[0].timestamp, 10);
  EXPECT_EQ(out[1].key, "c");
  EXPECT_EQ(out[1].value, R"({"u":99.5})");
}

TEST(dsl, map_flat_map_and_filter_not) {
  topology_builder b;
  b.stream<serdes::string, serdes::string>("in")
    .filter_not([](const std::string& v) { return v.empty(); })
    .flat_map_values([](const std::string& v) {
      std::vector<std::string> words;
      size_t start = 0;
      for (size_t i = 0; i <= v.size(); ++i)
        if (i == v.size() || v[i] == ' ') {
          words.push_back(v.substr(start, i - start));
          start = i + 1;
        }
      return words;
    })
    .map([](const std::string& k, const std::string& w) {
      return std::pair{w, k + ":" + w};
    })
    .flat_map([](const std::string& k, const std::string& v) {
      return std::vector<std::pair<std::string, std::string>>{{k, v}, {k, v + "!"}};
    })
    .to("out");
  topology_test_driver d{b.build()};
  d.pipe("in", "k", "x y");
  d.pipe("in", "k", "");
  auto out = d.read_output("out");
  std::vector<std::string> keys;
  for (auto& r : out)
    keys.push_back(r.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"x", "x", "y", "y"}));
  EXPECT_EQ(values_of(out), (std::vector<std::string>{"k:x", "k:x!", "k:y", "k:y!"}));
}

TEST(dsl, split_sends_each_record_to_first_matching_branch_and_merge_joins) {
  topology_builder b;
  auto s = b.stream<serdes::string, serdes::int64>("in");
  auto branches = s.split({
    [](const std::string&, const int64_t& v) { return v < 10; },
    [](const std::string&, const int64_t& v) { return v < 100; },
  });
  ASSERT_EQ(branches.size(), 2u);
  branches[0].to("small");
  branches[1].to("medium");
  branches[0].merge(branches[1]).map_values([](int64_t v) { return v * 2; }).to("doubled");
  topology_test_driver d{b.build()};
  for (int64_t v : {1, 50, 500, 9})
    d.pipe<serdes::string, serdes::int64>("in", "k", v);
  auto small = d.read_output<serdes::string, serdes::int64>("small");
  auto medium = d.read_output<serdes::string, serdes::int64>("medium");
  auto doubled = d.read_output<serdes::string, serdes::int64>("doubled");
  ASSERT_EQ(small.size(), 2u);
  EXPECT_EQ(small[0].second, 1);
  EXPECT_EQ(small[1].second, 9);
  ASSERT_EQ(medium.size(), 1u);
  EXPECT_EQ(medium[0].second, 50);
  std::multiset<int64_t> got;
  for (auto& [k, v] : doubled)
    got.insert(v);
  EXPECT_EQ(got, (std::multiset<int64_t>{2, 100, 18}));
}

TEST(dsl, peek_and_foreach_see_every_record) {
  topology_builder b;
  std::vector<std::string> peeked, seen;
  b.stream<serdes::string, serdes::string>("in")
    .peek([&](const std::string&, const std::string& v) { peeked.push_back(v); })
    .foreach ([&](const std::string&, const std::string& v) { seen.push_back(v + "."); });
  topology_test_driver d{b.build()};
  d.pipe("in", "k", "a");
  d.pipe("in", "k", "b");
  EXPECT_EQ(peeked, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(seen, (std::vector<std::string>{"a.", "b."}));
}

TEST(dsl, malformed_json_goes_to_dead_letter_topic_with_headers) {
  topology_builder b;
  b.stream<serdes::string, serdes::json>("in").to("out");
  topology_test_driver d{b.build(), "app"};
  d.pipe("in", "k", R"({"ok": 1})");
  d.pipe("in", "k", R"({"ok": )");
  d.pipe("in", "k", R"({"ok": 3})");
  EXPECT_EQ(d.read_output("out").size(), 2u);
  auto dlq = d.read_output("app-dlq");
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(dlq[0].value, R"({"ok": )");
  EXPECT_EQ(dlq[0].headers.at("source.topic"), "in");
  EXPECT_EQ(dlq[0].headers.at("source.partition"), "0");
  EXPECT_EQ(dlq[0].headers.at("source.offset"), "1");
  EXPECT_NE(dlq[0].headers.at("error").find("malformed JSON"), std::string::npos);
}

TEST(dsl, log_and_fail_stops_with_position) {
  topology_builder b;
  b.stream<serdes::string, serdes::json>("in").to("out");
  topology_test_driver d{b.build(), "app", exception_handler::log_and_fail};
  d.pipe("in", "k", "1");
  try {
    d.pipe("in", "k", "{");
    FAIL() << "expected stream_error";
  } catch (const stream_error& e) {
    EXPECT_NE(std::string{e.what()}.find("in-0@1"), std::string::npos) << e.what();
  }
}

TEST(dsl, throwing_user_function_dead_letters_the_record_and_goes_on) {
  topology_builder b;
  b.stream<serdes::string, serdes::json>("in")
    .map_values([](const json::value& v) { return json::value{v.at("missing")}; }, "EXTRACT")
    .to("out");
  topology_test_driver d{b.build(), "app"};
  d.pipe("in", "k", R"({"missing": 1})");
  d.pipe("in", "k", R"({"other": 1})");
  EXPECT_EQ(d.read_output("out").size(), 1u);
  auto dlq = d.read_output("app-dlq");
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(dlq[0].headers.at("error.node"), "EXTRACT");
  EXPECT_EQ(dlq[0].headers.at("source.offset"), "1");
}

TEST(dsl, describe_lists_sources_processors_sinks_and_subtopologies) {
  topology_builder b;
  b.stream<serdes::string, serdes::string>("a").filter([](const std::string&) { return true; }).to("x");
  b.stream<serdes::string, serdes::string>("b").to("y");
  auto t = b.build();
  ASSERT_EQ(t.subtopologies().size(), 2u);
  auto d = t.describe();
  EXPECT_NE(d.find("Sub-topology: 0"), std::string::npos) << d;
  EXPECT_NE(d.find("Source: SOURCE-0000000000 (topics: [a])"), std::string::npos) << d;
  EXPECT_NE(d.find("--> FILTER-0000000001"), std::string::npos) << d;
  EXPECT_NE(d.find("Sink: SINK-0000000002 (topic: x)"), std::string::npos) << d;
  EXPECT_NE(d.find("Sub-topology: 1"), std::string::npos) << d;
}

// A repartitioning group_by, a windowed count and a plain count: what --describe shows of them.
topology counting_topology() {
  using namespace std::chrono_literals;
  topology_builder b;
  auto by_host =
    b.stream<serdes::string, serdes::json>("readings")
      .group_by([](const std::string&, const json::value& r) { return std::string(r.at("host").as_string()); },
                "by-host");
  by_host.windowed_by(tumbling(30s)).count("per-host-30s").to_stream("per-host-30s-updates").to("counts-30s");
  b.stream<serdes::string, serdes::string>("logs")
    .group_by_key()
    .count("per-key")
    .to_stream("per-key-updates")
    .to("counts");
  return b.build();
}

TEST(dsl, describe_names_stores_and_internal_topics_in_full) {
  const auto t = counting_topology().with_application_id("app");
  const auto d = t.describe();
  // Every topic the runtime creates for the app is named as it creates it.
  for (const auto& topic : t.repartition_topics())
    EXPECT_NE(d.find("    " + topic + " (repartition)\n"), std::string::npos) << topic;
  for (const auto& n : t.nodes()) {
    if (!n.store)
      continue;
    const auto line = "    " + t.changelog_topic(n.store->name) + " (changelog of store " + n.store->name + ")\n";
    EXPECT_NE(d.find(line), std::string::npos) << line;
  }
  EXPECT_EQ(d, "Topologies:\n"
               "   Sub-topology: 0\n"
               "    Source: SOURCE-0000000000 (topics: [readings])\n"
               "      --> by-host-select\n"
               "    Processor: by-host-select\n"
               "      --> by-host-repartition-sink\n"
               "      <-- SOURCE-0000000000\n"
               "    Sink: by-host-repartition-sink (topic: app-by-host-repartition)\n"
               "      <-- by-host-select\n"
               "   Sub-topology: 1\n"
               "    Source: by-host-repartition-source (topics: [app-by-host-repartition])\n"
               "      --> per-host-30s\n"
               "    Processor: per-host-30s (stores: [per-host-30s-store])\n"
               "      --> per-host-30s-updates\n"
               "      <-- by-host-repartition-source\n"
               "    Processor: per-host-30s-updates\n"
               "      --> SINK-0000000006\n"
               "      <-- per-host-30s\n"
               "    Sink: SINK-0000000006 (topic: counts-30s)\n"
               "      <-- per-host-30s-updates\n"
               "   Sub-topology: 2\n"
               "    Source: SOURCE-0000000007 (topics: [logs])\n"
               "      --> per-key\n"
               "    Processor: per-key (stores: [per-key-store])\n"
               "      --> per-key-updates\n"
               "      <-- SOURCE-0000000007\n"
               "    Processor: per-key-updates\n"
               "      --> SINK-0000000010\n"
               "      <-- per-key\n"
               "    Sink: SINK-0000000010 (topic: counts)\n"
               "      <-- per-key-updates\n"
               "Internal topics:\n"
               "    app-by-host-repartition (repartition)\n"
               "    app-per-host-30s-store-changelog (changelog of store per-host-30s-store)\n"
               "    app-per-key-store-changelog (changelog of store per-key-store)\n");
}

TEST(dsl, describe_without_an_application_id_names_internal_topics_by_their_base_names) {
  const auto d = counting_topology().describe();
  EXPECT_NE(d.find("Internal topics:\n"
                   "    by-host-repartition (repartition)\n"
                   "    per-host-30s-store-changelog (changelog of store per-host-30s-store)\n"
                   "    per-key-store-changelog (changelog of store per-key-store)\n"),
            std::string::npos)
    << d;
}

TEST(dsl, topic_read_twice_is_rejected) {
  topology_builder b;
  b.stream<serdes::string, serdes::string>("a");
  b.stream<serdes::string, serdes::string>("a");
  EXPECT_THROW(b.build(), topology_error);
}

TEST(serdes, json_writes_numbers_in_shortest_form_and_escapes_strings) {
  serdes::json s;
  std::string out;
  s.serialize(s.deserialize(R"({"a":97.91014462865569,"b":81.0,"c":-3,"d":"q\"\\\n\u0001é","e":[true,null,1e300]})"),
              out);
  EXPECT_EQ(out, R"({"a":97.91014462865569,"b":81,"c":-3,"d":"q\"\\\n\u0001é","e":[true,null,1e+300]})");
  EXPECT_TRUE(s.deserialize("").is_null());
  EXPECT_THROW(s.deserialize("{"), std::invalid_argument);
  EXPECT_THROW(s.deserialize("{} x"), std::invalid_argument);
}

TEST(serdes, int64_is_big_endian) {
  serdes::int64 s;
  std::string out;
  s.serialize(-2, out);
  EXPECT_EQ(out, std::string("\xff\xff\xff\xff\xff\xff\xff\xfe", 8));
  EXPECT_EQ(s.deserialize(out), -2);
  EXPECT_THROW(s.deserialize("abc"), std::invalid_argument);
}
