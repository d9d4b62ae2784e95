// The group member: the instance's consumer in group `application.id`. Runs detached (it blocks in
// librdkafka), hands consumed batches to tasks while their partitions have credit, commits.
#pragma once

#include "actors/messages.hpp"
#include "actors/metrics.hpp"
#include "actors/record_collector.hpp"
#include <sluice/streams_config.hpp>
#include <sluice/topology/topology.hpp>

#include <caf/fwd.hpp>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace sluice {

struct store_resources;

/// Spawns the group member; it subscribes at once and polls until (shutdown_atom) or a task fails,
/// then commits what it can, closes the consumer and quits (with the failure as exit reason).
/// `partitions`: partition count of every topic the topology reads or writes internally.
/// `outside_collector`: under exactly-once, the (non-transactional) producer of the tasks whose
/// sub-topology writes no records, which commit outside the transaction; null: they use `collector`.
/// `metrics`: the instance's, kept up to date by the member, its tasks and their operators.
/// `shared`: what the stores of all its tasks share.
group_member_actor spawn_group_member(caf::actor_system& sys, topology topo, const streams_config* config,
                                      record_collector* collector, record_collector* outside_collector,
                                      instance_metrics* metrics, const std::map<std::string, int32_t>* partitions,
                                      std::shared_ptr<const store_resources> shared);

} // namespace sluice
