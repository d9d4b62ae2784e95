// The task actor: one (sub-topology, partition). Spawns an operator actor per node, feeds the
// sources, and runs commit markers through them.
#pragma once

#include "actors/commit_metadata.hpp"
#include "actors/messages.hpp"
#include "actors/metrics.hpp"
#include "actors/record_collector.hpp"
#include <sluice/streams_config.hpp>
#include <sluice/topology/topology.hpp>

#include <caf/fwd.hpp>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sluice {

struct store_resources;

/// Spawns the task of sub-topology `subtopology` for `partition`; `committed`: what the last
/// commit of its source partitions carried (input watermarks, store changelog positions);
/// `partitions`: partition count per topic, outliving the task; `inputs`: its assigned source
/// partitions (with several, batches are taken in head-timestamp order); `shared`: what the
/// stores of the instance share (record-cache budget, block cache); `metrics`: the instance's (the task and its
/// operators register there).
task_actor spawn_task(caf::actor_system& sys, topology topo, int subtopology, int32_t partition,
                      record_collector* collector, const streams_config* config,
                      std::shared_ptr<const store_resources> shared, const std::map<std::string, int32_t>* partitions,
                      const committed_metadata& committed, const std::vector<std::pair<std::string, int32_t>>& inputs,
                      instance_metrics* metrics);

/// Kafka Streams' task name: "<sub-topology>_<partition>".
std::string task_name(int subtopology, int32_t partition);

} // namespace sluice
