// The operator actor: runs one topology node's processor for one task.
#pragma once

#include "actors/messages.hpp"
#include "actors/metrics.hpp"
#include "actors/record_collector.hpp"
#include <sluice/streams_config.hpp>
#include "actors/task_stores.hpp"
#include <sluice/topology/topology.hpp>

#include <caf/fwd.hpp>

#include <map>
#include <vector>

namespace sluice {

/// Everything an operator actor needs at spawn.
struct operator_setup {
  topology topo;                                              ///< the graph (shared, immutable)
  int node = 0;                                               ///< which node this actor runs
  std::string task_id;                                        ///< e.g. "0_3"
  int32_t partition = 0;                                      ///< the task's partition (changelogs are written there)
  std::vector<std::vector<operator_actor>> ports;             ///< children per output port
  task_actor task;                                            ///< told when a marker has passed
  record_collector* collector = nullptr;                      ///< the instance's producer
  const streams_config* config = nullptr;                     ///< outlives the actor
  std::shared_ptr<task_stores> stores;                        ///< the task's restored stores (this node's by node id)
  const std::map<std::string, int32_t>* partitions = nullptr; ///< partition count per topic, outlives the actor
  /// Source nodes: each input's state at the last commit ("" = none), by (topic, partition).
  std::map<std::pair<std::string, int32_t>, std::string> restored_inputs;
  std::vector<event_clock> restored_clocks; ///< every node's clock at the last commit, by node id
  instance_metrics* metrics = nullptr;      ///< the instance's, outlives the actor
};

/// The clocks every node of sub-topology `sub` had at the last commit, by node id, from the
/// sources' restored input states (see `operator_setup::restored_inputs`).
std::vector<event_clock> restored_clocks(const topology& topo, int sub, int32_t partition,
                                         const std::map<std::pair<std::string, int32_t>, std::string>& inputs);

/// Spawns the operator actor for `setup.node`, linked to `parent` (its task, `setup.task`).
operator_actor spawn_operator(caf::local_actor* parent, operator_setup setup);

} // namespace sluice
