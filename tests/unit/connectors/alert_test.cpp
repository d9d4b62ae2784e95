// stream::alert on the topology test driver: the alert sink runs in a sub-topology of its own,
// reading the alerts topic, and names each alert by its record there.
#include <sluice/connectors/http/alert_sink.hpp>
#include <sluice/topology/stream.hpp>
#include <sluice/topology/test_driver.hpp>

#include <gtest/gtest.h>

#include <sstream>

namespace json = boost::json;
using namespace sluice;
using S = serdes::string;
using J = serdes::json;

namespace {

// Readings over 80 % usage, alerted on the console as `text` by the alert node "hot-alert".
topology hot_readings(std::ostream& out, const std::string& text) {
  topology_builder b;
  b.stream<S, J>("readings")
    .filter([](const json::value& r) { return r.at("usage").to_number<double>() > 80; }, "hot")
    .alert(console_alert_sink{"hot", text, &out}, "hot-alert");
  return b.build();
}

json::value reading(const std::string& host, double usage) { return {{"hostname", host}, {"usage", usage}}; }

} // namespace

TEST(alert, runs_in_its_own_sub_topology_reading_the_alerts_topic) {
  std::ostringstream out;
  const auto t = hot_readings(out, "{hostname}");
  EXPECT_EQ(t.with_application_id("app").describe(),
            "Topologies:\n"
            "   Sub-topology: 0\n"
            "    Source: SOURCE-0000000000 (topics: [readings])\n"
            "      --> hot\n"
            "    Processor: hot\n"
            "      --> hot-alert-alerts-sink\n"
            "      <-- SOURCE-0000000000\n"
            "    Sink: hot-alert-alerts-sink (topic: app-hot-alert-alerts)\n"
            "      <-- hot\n"
            "   Sub-topology: 1\n"
            "    Source: hot-alert-alerts-source (topics: [app-hot-alert-alerts])\n"
            "      --> hot-alert\n"
            "    Processor: hot-alert\n"
            "      <-- hot-alert-alerts-source\n"
            "Internal topics:\n"
            "    app-hot-alert-alerts (alerts)\n");
  EXPECT_EQ(t.with_application_id("app").repartition_topics(), std::vector<std::string>{"app-hot-alert-alerts"});
  EXPECT_TRUE(t.writes_records(0));  // to the alerts topic: in the transaction under exactly-once
  EXPECT_FALSE(t.writes_records(1)); // only the sink's side effect: commits outside it

  topology_test_driver d{t, "app"};
  d.pipe<S, J>("readings", "a", reading("a", 91));
  d.pipe<S, J>("readings", "b", reading("b", 12));
  const auto through = d.read_output<S, J>("hot-alert-alerts");
  ASSERT_EQ(through.size(), 1u);
  EXPECT_EQ(through[0].first, "a");
  EXPECT_EQ(out.str(), "[hot] a\n");
}

TEST(alert, ids_are_the_alerts_topic_positions_distinct_per_record_and_the_same_on_every_run) {
  auto run = [] {
    std::ostringstream out;
    topology_test_driver d{hot_readings(out, "{alert_id} {hostname}"), "app"};
    d.pipe<S, J>("readings", "a", reading("a", 91));
    d.pipe<S, J>("readings", "b", reading("b", 12)); // not alerted: takes no position in the alerts topic
    d.pipe<S, J>("readings", "b", reading("b", 95));
    d.pipe<S, J>("readings", "a", reading("a", 91)); // the same reading again is another alert
    return out.str();
  };
  const auto first = run();
  EXPECT_EQ(first, "[hot] app-hot-alert-alerts-0-0 a\n"
                   "[hot] app-hot-alert-alerts-0-1 b\n"
                   "[hot] app-hot-alert-alerts-0-2 a\n");
  EXPECT_EQ(run(), first);
}

TEST(alert, id_names_the_record_it_was_read_from) {
  const std::string topic = "app-slack-alerts";
  EXPECT_EQ(alert_id(record_meta{1700000000000, 8211, 3, &topic}), "app-slack-alerts-3-8211");
  EXPECT_EQ(alert_id(record_meta{0, 8212, 3, &topic}), "app-slack-alerts-3-8212");
}

TEST(alert, fields_are_the_value_as_it_was_before_the_alerts_topic_and_the_alert_id) {
  std::ostringstream out;
  topology_test_driver d{hot_readings(out, "{usage} on cpu {cpu}: {alert_id}"), "app"};
  d.pipe("readings", "a", R"({"hostname":"a","usage":95.0,"cpu":3})");
  EXPECT_EQ(out.str(), "[hot] 95.0 on cpu 3: app-hot-alert-alerts-0-0\n"); // the double stayed a double

  std::ostringstream raw;
  topology_test_driver plain{hot_readings(raw, ""), "app"};
  plain.pipe<S, J>("readings", "a", json::value{{"hostname", "a"}, {"usage", 91}});
  EXPECT_EQ(raw.str(), R"([hot] {"hostname":"a","usage":91,"alert_id":"app-hot-alert-alerts-0-0"})"
                       "\n");
}
