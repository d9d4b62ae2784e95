// Internal topic plans and the decisions taken on the Admin API's answers, without a broker:
// every refusal a real Kafka cluster can give is fed in as the error code and text it sends.
#include "actors/internal_topics.hpp"
#include <sluice/topology/stream.hpp>

#include <gtest/gtest.h>

#include <chrono>

namespace json = boost::json;
using namespace sluice;
using namespace std::chrono_literals;
using step = create_decision::step;

namespace {

constexpr int64_t day_ms = 24 * 3600 * 1000;

topology counting_topology() {
  topology_builder b;
  b.stream<serdes::string, serdes::json>("in").group_by_key().count("counts").to_stream().to("out");
  return b.build().with_application_id("app");
}

topology windowed_topology(std::chrono::milliseconds retention) {
  topology_builder b;
  b.stream<serdes::string, serdes::int64>("in")
    .group_by_key()
    .windowed_by(tumbling(30s).grace(5s).retain(retention))
    .count("w");
  return b.build().with_application_id("app");
}

topology repartitioning_topology() {
  topology_builder b;
  b.stream<serdes::string, serdes::json>("in")
    .group_by([](const std::string&, const json::value& v) { return std::string{v.at("user").as_string()}; }, "by-user")
    .count("clicks")
    .to_stream()
    .to("out");
  return b.build().with_application_id("app");
}

// An alert sink whose alerts go nowhere: plans depend only on the topology's shape.
struct dropping_alert_sink {
  template <class K, class V>
  std::unique_ptr<processor> make_processor(const std::string&) const {
    return std::make_unique<detail::pass_through_processor>();
  }
};

topology alerting_topology() {
  topology_builder b;
  b.stream<serdes::string, serdes::json>("in").alert(dropping_alert_sink{}, "slack");
  return b.build().with_application_id("app");
}

std::map<std::string, internal_topic> wanted_topics() {
  streams_config config;
  config.application_id = "app";
  return plan_internal_topics(counting_topology(), {{"in", 4}}, config);
}

const std::string changelog = "app-counts-store-changelog";

cluster_info real_cluster(std::optional<int> default_factor = 3) {
  cluster_info c;
  c.admin_api = true;
  c.default_replication_factor = default_factor;
  if (!default_factor)
    c.default_replication_factor_error = "Cluster authorization failed. (CLUSTER_AUTHORIZATION_FAILED)";
  return c;
}

} // namespace

TEST(plan_internal_topics, key_value_changelog_is_compacted_with_a_partition_per_task) {
  streams_config config;
  config.application_id = "app";
  const auto plan = plan_internal_topics(counting_topology(), {{"in", 6}}, config);
  ASSERT_TRUE(plan.count(changelog));
  EXPECT_EQ(plan.at(changelog).partitions, 6);
  EXPECT_EQ(plan.at(changelog).configs, (std::map<std::string, std::string>{{"cleanup.policy", "compact"}}));
  ASSERT_TRUE(plan.count("app-dlq")); // log_and_continue handlers write there
  EXPECT_EQ(plan.at("app-dlq").partitions, 1);
  EXPECT_EQ(plan.at("app-dlq").configs.at("cleanup.policy"), "delete");
  EXPECT_EQ(plan.size(), 2u);
}

TEST(plan_internal_topics, window_changelog_keeps_records_a_day_longer_than_the_store) {
  streams_config config;
  config.application_id = "app";
  config.set("topic.retention.ms", "1000"); // the computed retention wins, as in Kafka Streams
  auto plan = plan_internal_topics(windowed_topology(std::chrono::hours{24 * 7}), {{"in", 2}}, config);
  const auto& w = plan.at("app-w-store-changelog");
  EXPECT_EQ(w.partitions, 2);
  EXPECT_EQ(w.configs.at("cleanup.policy"), "compact,delete");
  EXPECT_EQ(w.configs.at("retention.ms"), std::to_string(7 * day_ms + day_ms));

  config.set("windowstore.changelog.additional.retention.ms", "3600000");
  plan = plan_internal_topics(windowed_topology(std::chrono::hours{24 * 7}), {{"in", 2}}, config);
  EXPECT_EQ(plan.at("app-w-store-changelog").configs.at("retention.ms"), std::to_string(7 * day_ms + 3600000));
}

TEST(plan_internal_topics, repartition_topic_is_never_time_deleted_and_its_readers_get_a_task_per_partition) {
  streams_config config;
  config.application_id = "app";
  auto plan = plan_internal_topics(repartitioning_topology(), {{"in", 3}}, config);
  const auto& r = plan.at("app-by-user-repartition");
  EXPECT_EQ(r.partitions, 3);
  EXPECT_EQ(r.configs, (std::map<std::string, std::string>{
                         {"cleanup.policy", "delete"}, {"retention.ms", "-1"}, {"segment.bytes", "52428800"}}));
  EXPECT_EQ(plan.at("app-clicks-store-changelog").partitions, 3);

  // An existing repartition topic with more partitions: its readers have one task per partition.
  plan = plan_internal_topics(repartitioning_topology(), {{"in", 3}, {"app-by-user-repartition", 8}}, config);
  EXPECT_EQ(plan.at("app-by-user-repartition").partitions, 3); // what its writers need
  EXPECT_EQ(plan.at("app-clicks-store-changelog").partitions, 8);
}

TEST(plan_internal_topics, an_alerts_topic_is_planned_as_a_repartition_topic) {
  streams_config config;
  config.application_id = "app";
  const auto plan = plan_internal_topics(alerting_topology(), {{"in", 3}}, config);
  ASSERT_EQ(plan.size(), 2u); // and the dead-letter topic
  const auto& a = plan.at("app-slack-alerts");
  EXPECT_EQ(a.partitions, 3);
  EXPECT_EQ(a.configs, (std::map<std::string, std::string>{
                         {"cleanup.policy", "delete"}, {"retention.ms", "-1"}, {"segment.bytes", "52428800"}}));
  EXPECT_EQ(alerting_topology().repartition_topics(), std::vector<std::string>{"app-slack-alerts"}); // purged
}

TEST(plan_internal_topics, topic_settings_pass_through_to_every_internal_topic) {
  streams_config config;
  config.application_id = "app";
  config.set("topic.min.insync.replicas", "2");
  const auto plan = plan_internal_topics(repartitioning_topology(), {{"in", 3}}, config);
  ASSERT_EQ(plan.size(), 3u);
  for (const auto& [name, spec] : plan)
    EXPECT_EQ(spec.configs.at("min.insync.replicas"), "2") << name;
}

TEST(plan_internal_topics, no_dead_letter_topic_when_every_handler_fails_instead) {
  streams_config config;
  config.application_id = "app";
  config.set("default.deserialization.exception.handler", "log_and_fail");
  config.set("default.processing.exception.handler", "log_and_fail");
  const auto plan = plan_internal_topics(counting_topology(), {{"in", 4}}, config);
  EXPECT_FALSE(plan.count("app-dlq"));
}

TEST(plan_internal_topics, an_endpoints_topic_while_instances_serve_http) {
  streams_config config;
  config.application_id = "app";
  EXPECT_FALSE(plan_internal_topics(counting_topology(), {{"in", 4}}, config).count("app-endpoints"));
  config.set("application.server", "host-1:8080");
  const auto plan = plan_internal_topics(counting_topology(), {{"in", 4}}, config);
  ASSERT_TRUE(plan.count("app-endpoints"));
  EXPECT_EQ(plan.at("app-endpoints").partitions, 1);
  EXPECT_EQ(plan.at("app-endpoints").configs.at("cleanup.policy"), "compact"); // each instance's latest entry
}

TEST(admin_api_probe, not_supported_means_no_admin_api_and_a_refusal_means_there_is_one) {
  EXPECT_EQ(classify_admin_api_probe(RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE), admin_api_probe::absent);
  EXPECT_EQ(classify_admin_api_probe(RD_KAFKA_RESP_ERR_NO_ERROR), admin_api_probe::answered);
  EXPECT_EQ(classify_admin_api_probe(RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED), admin_api_probe::answered);
  EXPECT_EQ(classify_admin_api_probe(RD_KAFKA_RESP_ERR__TIMED_OUT), admin_api_probe::retry);
  EXPECT_EQ(classify_admin_api_probe(RD_KAFKA_RESP_ERR__TRANSPORT), admin_api_probe::retry);
}

TEST(decide_create, created_or_already_there_is_done) {
  const auto d = decide_create({{changelog, RD_KAFKA_RESP_ERR_NO_ERROR, ""},
                                {"app-dlq", RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS, "Topic 'app-dlq' already exists."}},
                               -1, wanted_topics(), real_cluster());
  EXPECT_EQ(d.next, step::done);
  EXPECT_TRUE(d.topics.empty());
}

TEST(decide_create, broker_before_2_4_refusing_minus_one_gets_its_default_replication_factor) {
  // librdkafka's answer for the whole request on a broker that offers CreateTopics v3 only.
  const std::string text = "Broker does not support default replication factor (KIP-464)";
  const auto d = decide_create({{changelog, RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE, text},
                                {"app-dlq", RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE, text}},
                               -1, wanted_topics(), real_cluster(3));
  EXPECT_EQ(d.next, step::retry_with_factor);
  EXPECT_EQ(d.replication_factor, 3);
  EXPECT_EQ(d.topics, (std::vector<std::string>{changelog, "app-dlq"}));
  EXPECT_NE(d.message.find("default.replication.factor=3"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find(text), std::string::npos) << d.message;
}

TEST(decide_create, refused_minus_one_without_a_readable_default_names_the_key_to_set) {
  const std::string text = "Broker does not support default replication factor (KIP-464)";
  const auto d = decide_create({{changelog, RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE, text}}, -1, wanted_topics(),
                               real_cluster(std::nullopt));
  EXPECT_EQ(d.next, step::fail);
  EXPECT_NE(d.message.find(text), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("set replication.factor"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("CLUSTER_AUTHORIZATION_FAILED"), std::string::npos) << d.message; // why unknown
  EXPECT_NE(d.message.find("no task was started"), std::string::npos) << d.message;
}

TEST(decide_create, a_factor_larger_than_the_cluster_is_a_refusal_once_explicit) {
  const std::string text = "Replication factor: 3 larger than available brokers: 1.";
  // -1 on 2.4+: the broker's default is too large; one retry with that default ...
  auto d = decide_create({{changelog, RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR, text}}, -1, wanted_topics(),
                         real_cluster(3));
  EXPECT_EQ(d.next, step::retry_with_factor);
  EXPECT_EQ(d.replication_factor, 3);
  // ... which, explicit, is refused and explained.
  d = decide_create({{changelog, RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR, text}}, 3, wanted_topics(),
                    real_cluster(3));
  EXPECT_EQ(d.next, step::fail);
  EXPECT_NE(d.message.find(text), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("INVALID_REPLICATION_FACTOR"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("set replication.factor (now 3)"), std::string::npos) << d.message;
}

TEST(decide_create, timeouts_and_controller_moves_retry_only_the_topics_concerned) {
  const auto d = decide_create({{changelog, RD_KAFKA_RESP_ERR_NO_ERROR, ""},
                                {"app-dlq", RD_KAFKA_RESP_ERR_NOT_CONTROLLER, "This is not the correct controller."}},
                               -1, wanted_topics(), real_cluster());
  EXPECT_EQ(d.next, step::retry);
  EXPECT_EQ(d.topics, (std::vector<std::string>{"app-dlq"}));
  EXPECT_EQ(d.replication_factor, -1);

  for (auto e : {RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__TRANSPORT,
                 RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE})
    EXPECT_EQ(decide_create({{changelog, e, "x"}}, -1, wanted_topics(), real_cluster()).next, step::retry)
      << rd_kafka_err2name(e);
}

TEST(decide_create, refusals_are_shown_verbatim_with_what_to_do) {
  struct refusal_case {
    rd_kafka_resp_err_t error;
    std::string text, advice;
  };
  const std::vector<refusal_case> cases = {
    {RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, "Authorization failed.", "CREATE"},
    {RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed.", "CREATE"},
    {RD_KAFKA_RESP_ERR_POLICY_VIOLATION, "Topic names must start with team-", "create.topic.policy.class.name"},
    {RD_KAFKA_RESP_ERR_INVALID_CONFIG, "Unknown topic config name: min.insync.replica", "topic.*"},
    {RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION, "Topic name is illegal", "application.id"},
    {RD_KAFKA_RESP_ERR_UNKNOWN, "The server experienced an unexpected error",
     "kafka-topics.sh --create --topic app-counts-store-changelog --partitions 4 --config cleanup.policy=compact"},
  };
  for (const auto& c : cases) {
    const auto d = decide_create({{changelog, c.error, c.text}}, -1, wanted_topics(), real_cluster());
    EXPECT_EQ(d.next, step::fail) << rd_kafka_err2name(c.error);
    EXPECT_NE(d.message.find("'" + changelog + "'"), std::string::npos) << d.message;
    EXPECT_NE(d.message.find(c.text), std::string::npos) << d.message;
    EXPECT_NE(d.message.find(rd_kafka_err2name(c.error)), std::string::npos) << d.message;
    EXPECT_NE(d.message.find(c.advice), std::string::npos) << d.message;
    EXPECT_TRUE(d.topics.empty());
  }
}

TEST(decide_create, a_refusal_stops_even_when_other_topics_would_be_retried) {
  const auto d = decide_create(
    {{changelog, RD_KAFKA_RESP_ERR_POLICY_VIOLATION, "no"}, {"app-dlq", RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, "later"}},
    -1, wanted_topics(), real_cluster());
  EXPECT_EQ(d.next, step::fail);
  EXPECT_EQ(d.message.find("app-dlq"), std::string::npos) << d.message; // only refusals are listed
}
