// The task actor: one (sub-topology, partition). Spawns an operator actor per node, feeds the
// sources, and runs commit markers through them.
#pragma once

#include "actors/record_collector.hpp"
#include "actors/streams_config.hpp"
#include "topology/topology.hpp"

#include <caf/fwd.hpp>

namespace sluice {

/// Spawns the task of sub-topology `subtopology` for `partition`.
caf::actor spawn_task(caf::actor_system& sys, topology topo, int subtopology, int32_t partition,
                      record_collector* collector, const streams_config* config);

/// Kafka Streams' task name: "<sub-topology>_<partition>".
std::string task_name(int subtopology, int32_t partition);

} // namespace sluice
