// Internal topics (changelogs, repartition topics, the dead-letter topic): planned from the
// topology, created with the Admin API where the cluster has one, checked before any task runs;
// and the purge of consumed repartition records.
#pragma once

#include "actors/cluster.hpp"
#include <sluice/streams_config.hpp>
#include <sluice/topology/topology.hpp>

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace sluice {

/// An internal topic as the topology needs it.
struct internal_topic {
  std::string name;
  int partitions = 0;                         ///< tasks writing it: it needs at least this many
  std::map<std::string, std::string> configs; ///< the topic configs it is created with
};

/// The internal topics of `topo`, by name, given `partitions`: the partition counts of its source
/// topics and of the internal topics that already exist (readers of a repartition topic have one
/// task per partition it has). Configs, as Kafka Streams sets them, then `topic.*` over them:
/// key-value changelogs `cleanup.policy=compact`; window changelogs `compact,delete` with
/// `retention.ms` = the store's retention + windowstore.changelog.additional.retention.ms (always);
/// repartition topics `delete`, `retention.ms=-1` (purged by DeleteRecords), 50 MiB segments; the
/// dead-letter topic (1 partition, `delete`) while a handler writes to it; the endpoints topic (1
/// partition, `compact`) while application.server or num.standby.replicas is set.
std::map<std::string, internal_topic>
plan_internal_topics(const topology& topo, const std::map<std::string, int>& partitions, const streams_config& config);

/// What the answer to the Admin API probe (DescribeConfigs of a broker) says.
enum class admin_api_probe {
  absent,   ///< the broker does not offer the Admin API (the embedded broker)
  answered, ///< the cluster has it (an authorization refusal included)
  retry,    ///< no answer (yet): timeouts, connection trouble
};

/// Classifies the request-level error of the DescribeConfigs probe.
admin_api_probe classify_admin_api_probe(rd_kafka_resp_err_t request_error);

/// One topic's outcome of a CreateTopics request; a request-level error counts for every topic.
struct create_result {
  std::string topic;
  rd_kafka_resp_err_t error = RD_KAFKA_RESP_ERR_NO_ERROR;
  std::string message; ///< the broker's or librdkafka's text, verbatim
};

/// What to do after a CreateTopics answer.
struct create_decision {
  enum class step {
    done,              ///< every topic exists or was created
    retry,             ///< send `topics` again later: no answer or a passing condition
    retry_with_factor, ///< send `topics` again with `replication_factor` (the broker refused -1)
    fail,              ///< a refusal: stop, showing `message`
  };
  step next = step::done;
  int replication_factor = -1;     ///< the factor to send `topics` with
  std::vector<std::string> topics; ///< retry, retry_with_factor: the topics to send again
  std::string message;             ///< retry: why (for the log); fail: each refusal verbatim and what to do
};

/// Decides from the per-topic results of CreateTopics sent with `replication_factor` (the
/// `replication.factor` setting, -1 = the broker's default) for `wanted` topics. Every error code
/// is handled: already-exists counts as done; timeouts, controller moves and throttling are retried;
/// a refused -1 (brokers before 2.4) is retried with the broker's default.replication.factor
/// when known; anything else is a refusal, explained with what to set or do.
create_decision decide_create(const std::vector<create_result>& results, int replication_factor,
                              const std::map<std::string, internal_topic>& wanted, const cluster_info& cluster);

/// Before any task runs: finds out whether the cluster has the Admin API (DescribeConfigs of a
/// broker, which also reads its default.replication.factor), waits (logging why) while Kafka is
/// unreachable or a source topic is missing, then makes every internal topic exist with enough
/// partitions: created with CreateTopics on a cluster with the Admin API (see `decide_create`),
/// auto-created by metadata requests on the embedded broker. Nothing is auto-created on a real
/// cluster. Throws std::runtime_error when a topic cannot be made right (a refusal, too few
/// partitions), saying what to do, or when `stopping()` turns true while waiting.
cluster_info ensure_internal_topics(rd_kafka_t* client, const topology& topo, const streams_config& config,
                                    const std::function<bool()>& stopping);

/// Deletes repartition records below the offsets the group committed (DeleteRecords), as Kafka
/// Streams does: repartition topics have no time retention, this is what bounds them. At most one
/// purge per interval; asynchronous; failures are logged, never fatal.
class repartition_purger {
public:
  /// Purges `topics` through `client` (not owned; must outlive the purger) every `interval` at most.
  repartition_purger(rd_kafka_t* client, std::set<std::string> topics, std::chrono::milliseconds interval);

  /// Drops answers still outstanding.
  ~repartition_purger();
  repartition_purger(const repartition_purger&) = delete;
  repartition_purger& operator=(const repartition_purger&) = delete;

  /// Offsets the group just committed; those of repartition topics are purged below once the
  /// interval has passed since the last purge. Thread-safe; does not block.
  void committed(const rd_kafka_topic_partition_list_t* offsets);

private:
  void log_answers();

  rd_kafka_t* client_;
  rd_kafka_queue_t* answers_;
  std::set<std::string> topics_;
  std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::map<std::pair<std::string, int32_t>, int64_t> below_; // next purge: delete below these offsets
  std::chrono::steady_clock::time_point last_purge_{};
};

} // namespace sluice
