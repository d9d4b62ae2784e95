// Consumer group settings chosen from the cluster and the topology, and checked by librdkafka; the
// group's rebalance protocol as librdkafka reports it, also once the group has terminated.
#include "actors/cluster.hpp"
#include "actors/kafka_client.hpp"
#include <sluice/topology/stream.hpp>

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

using namespace sluice;

namespace {

topology single_source() {
  topology_builder b;
  b.stream<serdes::string, serdes::string>("in").to("out");
  return b.build();
}

topology merged_sources() {
  topology_builder b;
  b.stream<serdes::string, serdes::string>("a").merge(b.stream<serdes::string, serdes::string>("b")).to("out");
  return b.build();
}

cluster_info real_cluster() {
  cluster_info c;
  c.admin_api = true;
  return c;
}

std::string strategy(const group_settings& g) {
  auto it = g.settings.find("partition.assignment.strategy");
  return it == g.settings.end() ? "(not set)" : it->second;
}

} // namespace

TEST(consumer_group_settings, cooperative_sticky_on_a_real_cluster_range_on_the_embedded_broker) {
  const auto real = consumer_group_settings(real_cluster(), single_source(), {});
  EXPECT_EQ(strategy(real), "cooperative-sticky");
  EXPECT_EQ(real.note, "");

  const auto embedded = consumer_group_settings(cluster_info{}, single_source(), {});
  EXPECT_EQ(strategy(embedded), "range");
  EXPECT_NE(embedded.note.find("embedded broker"), std::string::npos) << embedded.note;
}

TEST(consumer_group_settings, range_when_a_sub_topology_reads_several_topics) {
  const auto g = consumer_group_settings(real_cluster(), merged_sources(), {});
  EXPECT_EQ(strategy(g), "range");
  EXPECT_NE(g.note.find("a, b"), std::string::npos) << g.note;
}

TEST(consumer_group_settings, the_users_assignor_is_left_alone) {
  streams_config config;
  config.set("kafka.consumer.partition.assignment.strategy", "roundrobin");
  const auto g = consumer_group_settings(cluster_info{}, single_source(), config);
  EXPECT_EQ(strategy(g), "(not set)");
  EXPECT_EQ(g.note, "");
}

TEST(consumer_group_settings, rebalance_timeout_follows_the_session_timeout) {
  auto g = consumer_group_settings(real_cluster(), single_source(), {});
  EXPECT_EQ(g.settings.at("session.timeout.ms"), "10000");
  EXPECT_EQ(g.settings.at("heartbeat.interval.ms"), "1000");
  EXPECT_EQ(g.settings.at("max.poll.interval.ms"), "15000");

  streams_config config;
  config.set("kafka.session.timeout.ms", "45000");
  g = consumer_group_settings(real_cluster(), single_source(), config);
  EXPECT_FALSE(g.settings.count("session.timeout.ms"));
  EXPECT_EQ(g.settings.at("max.poll.interval.ms"), "50000");

  config.set("kafka.consumer.max.poll.interval.ms", "600000");
  config.set("kafka.consumer.heartbeat.interval.ms", "3000");
  g = consumer_group_settings(real_cluster(), single_source(), config);
  EXPECT_FALSE(g.settings.count("max.poll.interval.ms"));
  EXPECT_FALSE(g.settings.count("heartbeat.interval.ms"));
}

TEST(consumer_group_settings, static_membership_only_when_configured) {
  EXPECT_FALSE(consumer_group_settings(real_cluster(), single_source(), {}).settings.count("group.instance.id"));
  streams_config config;
  config.set("group.instance.id", "host-1");
  EXPECT_EQ(consumer_group_settings(real_cluster(), single_source(), config).settings.at("group.instance.id"),
            "host-1");
}

TEST(consumer_group_settings, librdkafka_accepts_them_with_user_settings_on_top) {
  streams_config config;
  config.set("group.instance.id", "host-1");
  config.set("kafka.session.timeout.ms", "6000"); // as the tests on the embedded broker set it
  const auto g = consumer_group_settings(real_cluster(), single_source(), config);
  auto settings = g.settings;
  settings["group.id"] = "g";
  // librdkafka checks each setting and then the combination; it throws naming what it refused.
  EXPECT_NO_THROW(make_kafka_client(RD_KAFKA_CONSUMER, {settings, config.kafka_common}, "consumer"));
}

TEST(rebalance_protocol, is_empty_once_the_group_has_terminated_where_librdkafka_answers_null) {
  // No broker: the group never forms, and closing terminates it at once.
  auto consumer = make_kafka_client(
    RD_KAFKA_CONSUMER, {{{"bootstrap.servers", "127.0.0.1:1"}, {"group.id", "g"}, {"log_level", "0"}}}, "consumer");
  auto* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, "in", RD_KAFKA_PARTITION_UA);
  ASSERT_EQ(rd_kafka_subscribe(consumer.get(), topics), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(topics);
  EXPECT_EQ(rebalance_protocol(consumer.get()), "NONE");
  rd_kafka_consumer_close(consumer.get());
  EXPECT_EQ(rd_kafka_rebalance_protocol(consumer.get()), nullptr);
  EXPECT_EQ(rebalance_protocol(consumer.get()), "");
}
