// What the instance found out about its Kafka cluster at start, and the consumer-group settings
// that follow from it and from the topology.
#pragma once

#include <sluice/streams_config.hpp>
#include <sluice/topology/topology.hpp>

#include <map>
#include <optional>
#include <string>

namespace sluice {

/// The cluster as `ensure_internal_topics` found it.
struct cluster_info {
  /// False for a cluster without the Admin API: the embedded broker (librdkafka's mock cluster)
  /// answers DescribeConfigs with "not supported"; every Apache Kafka broker since 0.11 has it.
  bool admin_api = false;
  /// The brokers' `default.replication.factor`, when DescribeConfigs could read it.
  std::optional<int> default_replication_factor;
  /// Why `default_replication_factor` is unknown on a cluster with the Admin API ("" otherwise).
  std::string default_replication_factor_error;
};

/// librdkafka settings for the group member's consumer, chosen for this cluster and topology.
struct group_settings {
  std::map<std::string, std::string> settings; ///< applied before the user's kafka.* settings
  std::string note;                            ///< what to log once about the choice ("" = nothing)
};

/// The partition assignor, the group timeouts and static membership:
/// - `partition.assignment.strategy`: cooperative-sticky (only moved partitions stop), except on a
///   cluster without the Admin API (the embedded broker, whose cooperative rebalancing loses
///   partitions) and for topologies with a sub-topology reading several topics (their partitions
///   must land together, which only range guarantees): range;
/// - `session.timeout.ms` 10 s, `heartbeat.interval.ms` 1 s, `max.poll.interval.ms` = the session
///   timeout in effect + 5 s: the broker's rebalance timeout, so a crashed member holds a rebalance
///   back for at most that long (see docs/configuration.md);
/// - `group.instance.id` when `config.group_instance_id` is set.
/// Keys the user set with kafka.* or kafka.consumer.* are left to the user.
group_settings consumer_group_settings(const cluster_info& cluster, const topology& topo, const streams_config& config);

} // namespace sluice
