#include "actors/cluster.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace sluice {

namespace {

constexpr int64_t default_session_timeout_ms = 10000;
constexpr int64_t default_heartbeat_interval_ms = 1000;
constexpr int64_t rebalance_slack_ms = 5000; // max.poll.interval.ms over session.timeout.ms

/// The user's value of librdkafka consumer setting `key` (kafka.consumer.* over kafka.*), if any.
const std::string* user_setting(const streams_config& config, const std::string& key) {
  if (auto it = config.kafka_consumer.find(key); it != config.kafka_consumer.end())
    return &it->second;
  if (auto it = config.kafka_common.find(key); it != config.kafka_common.end())
    return &it->second;
  return nullptr;
}

} // namespace

group_settings consumer_group_settings(const cluster_info& cluster, const topology& topo,
                                       const streams_config& config) {
  group_settings out;
  auto& s = out.settings;

  if (!user_setting(config, "partition.assignment.strategy")) {
    const auto& subs = topo.subtopologies();
    const auto together =
      std::find_if(subs.begin(), subs.end(), [](const subtopology& sub) { return sub.source_topics.size() > 1; });
    if (!cluster.admin_api) {
      s["partition.assignment.strategy"] = "range";
      out.note = "the embedded broker (no Admin API): partition.assignment.strategy=range, its cooperative-sticky "
                 "rebalancing loses partitions on every join";
    } else if (together != subs.end()) {
      s["partition.assignment.strategy"] = "range";
      out.note = fmt::format("sub-topology {} reads {}: partition.assignment.strategy=range keeps their partitions "
                             "together (cooperative-sticky does not)",
                             together->id, fmt::join(together->source_topics, ", "));
    } else {
      s["partition.assignment.strategy"] = "cooperative-sticky";
    }
  }

  int64_t session_ms = default_session_timeout_ms;
  if (const auto* v = user_setting(config, "session.timeout.ms")) {
    try {
      session_ms = std::stoll(*v);
    } catch (const std::exception&) {
      // librdkafka rejects the value itself, naming the key.
    }
  } else {
    s["session.timeout.ms"] = std::to_string(session_ms);
  }
  if (!user_setting(config, "heartbeat.interval.ms"))
    s["heartbeat.interval.ms"] = std::to_string(std::min(default_heartbeat_interval_ms, session_ms / 3));
  if (!user_setting(config, "max.poll.interval.ms"))
    s["max.poll.interval.ms"] = std::to_string(session_ms + rebalance_slack_ms);

  if (!config.group_instance_id.empty())
    s["group.instance.id"] = config.group_instance_id;
  return out;
}

} // namespace sluice
