// ensure_internal_topics on the embedded broker: it has no Admin API (the probe says so at once),
// so internal topics are auto-created there, and a partition count that cannot work stops the
// start with the command that fixes it.
#include "actors/internal_topics.hpp"
#include "actors/record_collector.hpp"
#include "embedded_broker.hpp"
#include "kafka_test_client.hpp"
#include "test_helpers.hpp"
#include <sluice/topology/stream.hpp>

#include <gtest/gtest.h>

namespace json = boost::json;
using namespace sluice;
using sluice::test::kafka_test_client;
using sluice::test::unique_name;

namespace {

topology repartitioning_topology(const std::string& in, const std::string& app) {
  topology_builder b;
  b.stream<serdes::string, serdes::json>(in)
    .group_by([](const std::string&, const json::value& v) { return std::string{v.at("user").as_string()}; }, "by-user")
    .count("clicks")
    .to_stream()
    .to(in + "-out");
  return b.build().with_application_id(app);
}

topology counting_topology(const std::string& in, const std::string& app) {
  topology_builder b;
  b.stream<serdes::string, serdes::string>(in).group_by_key().count("counts").to_stream().to(in + "-out");
  return b.build().with_application_id(app);
}

streams_config config_for(const embedded_broker& broker, const std::string& app) {
  streams_config config;
  config.application_id = app;
  config.bootstrap_servers = broker.bootstrap_servers();
  return config;
}

const auto never = [] { return false; };

} // namespace

TEST(internal_topics, the_embedded_broker_has_no_admin_api_and_gets_its_internal_topics_auto_created) {
  embedded_broker broker;
  const auto in = unique_name("in"), app = unique_name("app");
  broker.create_topic(in, 4);
  const auto config = config_for(broker, app);
  record_collector collector{config};
  const auto cluster = ensure_internal_topics(collector.handle(), repartitioning_topology(in, app), config, never);
  EXPECT_FALSE(cluster.admin_api);
  EXPECT_FALSE(cluster.default_replication_factor);

  const kafka_test_client client{broker.bootstrap_servers()};
  EXPECT_EQ(client.partition_count(app + "-by-user-repartition"), 4);
  EXPECT_EQ(client.partition_count(app + "-clicks-store-changelog"), 4);
  EXPECT_GE(client.partition_count(app + "-dlq"), 1);
}

TEST(internal_topics, too_few_partitions_stop_the_start_with_the_command_that_fixes_it) {
  embedded_broker broker;
  const auto in = unique_name("in"), app = unique_name("app");
  broker.create_topic(in, 8);
  const auto config = config_for(broker, app);
  record_collector collector{config};
  const auto changelog = app + "-counts-store-changelog";
  try {
    ensure_internal_topics(collector.handle(), counting_topology(in, app), config, never);
    ADD_FAILURE() << "started with a 4-partition changelog for 8 tasks";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'" + changelog + "' has 4 partition(s) but 8 task(s)"), std::string::npos) << what;
    EXPECT_NE(what.find("sluice-broker --topic " + changelog + ":8"), std::string::npos) << what;
  }

  const auto app2 = unique_name("app");
  broker.create_topic(app2 + "-counts-store-changelog", 8); // as the message says
  const auto config2 = config_for(broker, app2);
  EXPECT_FALSE(ensure_internal_topics(collector.handle(), counting_topology(in, app2), config2, never).admin_api);
}
