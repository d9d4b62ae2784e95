// Internal topics (changelogs, repartition topics): checked, and created where the cluster allows.
#pragma once

#include "actors/streams_config.hpp"
#include "topology/topology.hpp"

#include <librdkafka/rdkafka.h>

#include <functional>

namespace sluice {

/// Makes sure every source topic exists and every internal topic exists with as many partitions
/// as the tasks that write it: missing internal topics are created with CreateTopics (changelogs
/// `cleanup.policy=compact`, window changelogs `compact,delete`); where the cluster does not
/// support that (the embedded broker), they are auto-created by a metadata request.
/// Waits (logging why) while Kafka is unreachable or a source topic is missing, until `stopping()`.
/// Throws std::runtime_error when an internal topic has too few partitions, saying how to fix it.
void ensure_internal_topics(rd_kafka_t* client, const topology& topo, const std::function<bool()>& stopping);

} // namespace sluice
