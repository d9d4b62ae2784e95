// The operator actor: runs one topology node's processor for one task.
#pragma once

#include "actors/record_collector.hpp"
#include "actors/streams_config.hpp"
#include "actors/task_stores.hpp"
#include "topology/topology.hpp"

#include <caf/fwd.hpp>

#include <vector>

namespace sluice {

/// Everything an operator actor needs at spawn.
struct operator_setup {
  topology topo;                              ///< the graph (shared, immutable)
  int node = 0;                               ///< which node this actor runs
  std::string task_id;                        ///< e.g. "0_3"
  int32_t partition = 0;                      ///< the task's partition (changelogs are written there)
  std::vector<std::vector<caf::actor>> ports; ///< children per output port
  caf::actor task;                            ///< told when a marker has passed (set by spawn_operator)
  record_collector* collector = nullptr;      ///< the instance's producer
  const streams_config* config = nullptr;     ///< outlives the actor
  std::shared_ptr<task_stores> stores;        ///< the task's restored stores (this node's by node id)
};

/// Spawns the operator actor for `setup.node`, linked to (and reporting to) the task actor `task`.
caf::actor spawn_operator(caf::event_based_actor* task, operator_setup setup);

} // namespace sluice
