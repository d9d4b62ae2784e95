// Standby replicas (num.standby.replicas, as Kafka Streams): warm copies of the stores of tasks
// that other instances run. Which instance keeps which standby follows from the endpoint
// directory alone (every instance computes the same placement), so no assignor has to know.
#pragma once

#include "actors/endpoint_directory.hpp"
#include "actors/metrics.hpp"
#include <sluice/streams_config.hpp>
#include <sluice/topology/topology.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace sluice {

struct store_resources;

/// The instances (ids) that keep a standby of `task`: the `replicas` of `instances` other than
/// `active` ranked highest by a hash of task and instance (rendezvous hashing: an instance that
/// comes or goes moves only the standbys it gains or had).
std::vector<std::string> standby_holders(const std::string& task, const std::string& active,
                                         const std::vector<std::string>& instances, int64_t replicas);

/// Keeps this instance's standbys, on a thread of its own: opens those the placement gives it,
/// follows their changelogs up to the last commit of their task, and closes those it no longer
/// should keep — at once when their task becomes active here, so that the task opens the warm stores.
class standby_tasks {
public:
  /// Starts following for the instance `directory` speaks for; `shared`: what the instance's stores
  /// share; `partitions`: partition count of every topic the topology reads; `metrics` gets the
  /// standbys' gauges. Everything passed by reference outlives this object.
  standby_tasks(const topology& topo, const streams_config& config, std::shared_ptr<const store_resources> shared,
                const std::map<std::string, int32_t>& partitions, const endpoint_directory& directory,
                instance_metrics& metrics);

  /// Closes every standby (their stores stay on disk, at their checkpoints) and stops.
  ~standby_tasks();
  standby_tasks(const standby_tasks&) = delete;
  standby_tasks& operator=(const standby_tasks&) = delete;

private:
  struct impl;
  std::shared_ptr<impl> impl_; // shared with the metrics source, which outlives this object
};

} // namespace sluice
