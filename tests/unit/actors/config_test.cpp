// Configuration keys for running on a Kafka cluster, and which producer failures are skipped.
#include "actors/record_collector.hpp"
#include <sluice/streams_config.hpp>

#include <gtest/gtest.h>

#include <cstdlib>

using namespace sluice;

TEST(config, cluster_keys_have_kafka_streams_defaults) {
  const streams_config c;
  EXPECT_EQ(c.get("replication.factor"), "-1");
  EXPECT_EQ(c.get("windowstore.changelog.additional.retention.ms"), "86400000");
  EXPECT_EQ(c.get("repartition.purge.interval.ms"), "30000");
  EXPECT_EQ(c.get("default.production.exception.handler"), "log_and_fail");
  EXPECT_EQ(c.get("group.instance.id"), "");
  EXPECT_EQ(c.get("num.standby.replicas"), "0");
}

TEST(config, num_standby_replicas_is_zero_or_more) {
  streams_config c;
  c.set("num.standby.replicas", "2");
  EXPECT_EQ(c.num_standby_replicas, 2);
  EXPECT_THROW(c.set("num.standby.replicas", "-1"), std::invalid_argument);
  EXPECT_THROW(c.set("num.standby.replicas", "one"), std::invalid_argument);
}

TEST(config, every_listed_key_reads_back_what_was_set) {
  for (const auto& k : config_keys()) {
    streams_config c;
    const auto v = c.get(k.name);
    EXPECT_EQ(v, k.default_value) << k.name;
    if (!v.empty()) {
      EXPECT_NO_THROW(c.set(k.name, v)) << k.name;
    }
  }
}

TEST(config, exactly_once_v2_is_the_guarantee_name_and_commits_every_100_ms_unless_set) {
  streams_config c{};
  EXPECT_EQ(c.commit_interval(), 5000);
  c.set("processing.guarantee", "exactly_once");
  EXPECT_EQ(c.get("processing.guarantee"), "exactly_once_v2");
  EXPECT_EQ(c.commit_interval(), 100);
  EXPECT_EQ(c.get("commit.interval.ms"), "100");
  c.set("commit.interval.ms", "250");
  EXPECT_EQ(c.commit_interval(), 250);
  c.set("processing.guarantee", "at_least_once");
  EXPECT_EQ(c.commit_interval(), 250);
  EXPECT_THROW(c.set("processing.guarantee", "exactly_twice"), std::invalid_argument);
}

TEST(config, replication_factor_is_minus_one_or_positive) {
  streams_config c;
  c.set("replication.factor", "3");
  EXPECT_EQ(c.replication_factor, 3);
  for (const char* bad : {"0", "-2", "three"})
    try {
      c.set("replication.factor", bad);
      ADD_FAILURE() << bad << " was taken";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string{e.what()}.find("replication.factor"), std::string::npos) << e.what();
    }
}

TEST(config, topic_settings_from_flags_and_environment) {
  streams_config c;
  c.set("topic.min.insync.replicas", "2");
  EXPECT_EQ(c.topic_configs.at("min.insync.replicas"), "2");
  EXPECT_EQ(c.get("topic.min.insync.replicas"), "2");
  ::setenv("SLUICE_TOPIC_SEGMENT_BYTES", "1048576", 1);
  c.load_environment();
  ::unsetenv("SLUICE_TOPIC_SEGMENT_BYTES");
  EXPECT_EQ(c.topic_configs.at("segment.bytes"), "1048576");
}

TEST(production_handler, only_log_and_continue_skips_and_never_changelog_records_or_fatal_errors) {
  using h = exception_handler;
  EXPECT_FALSE(skips_production_failure(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, h::log_and_fail, false));
  EXPECT_TRUE(skips_production_failure(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, h::log_and_continue, false));
  EXPECT_TRUE(skips_production_failure(RD_KAFKA_RESP_ERR_INVALID_RECORD, h::log_and_continue, false));
  EXPECT_TRUE(skips_production_failure(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, h::log_and_continue, false));
  EXPECT_FALSE(skips_production_failure(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, h::log_and_continue, true));
  for (auto fatal : {RD_KAFKA_RESP_ERR__FATAL, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                     RD_KAFKA_RESP_ERR__AUTHENTICATION, RD_KAFKA_RESP_ERR_PRODUCER_FENCED})
    EXPECT_FALSE(skips_production_failure(fatal, h::log_and_continue, false)) << rd_kafka_err2name(fatal);
}
