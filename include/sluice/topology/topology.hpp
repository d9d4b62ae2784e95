// The immutable topology graph built by `topology_builder`.
#pragma once

#include <sluice/topology/metric.hpp>
#include <sluice/topology/store_view.hpp>
#include <sluice/topology/processor.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace sluice {

/// Thrown for a topology that cannot run (unknown topic, bad wiring, bad configuration).
class topology_error : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// What a node does, as `describe()` names it.
enum class node_kind { source, processor, sink };

/// A state store owned by one node: one per task, in LevelDB under the state directory, logged
/// to the compacted topic "<application.id>-<name>-changelog".
struct store_spec {
  std::string name;                                 ///< unique in the topology; names the changelog
  bool windowed = false;                            ///< a window store (else key-value)
  int64_t retention_ms = 0;                         ///< window stores: how long windows are kept behind the newest one
  std::shared_ptr<const store_view> view = nullptr; ///< how its keys and values read as JSON (queries); null: as text
};

/// One node of the graph.
struct topology_node {
  std::string name;                                 ///< unique, e.g. "FILTER-0000000001"
  node_kind kind = node_kind::processor;            ///<
  std::vector<std::string> topics;                  ///< source topics, or the sink topic
  std::vector<int> parents;                         ///< node indices
  std::vector<std::vector<int>> outputs{{}};        ///< children per output port
  std::function<std::unique_ptr<processor>()> make; ///< creates the per-task processor
  std::optional<store_spec> store;                  ///< the node's state store, if any
  metrics_source metrics;                           ///< its connector's instance-wide counters, if any
  int subtopology = -1;                             ///< assigned by `topology_builder::build`
};

/// A connected part of the graph with its own source topics; one task per source partition.
struct subtopology {
  int id = 0;
  std::vector<int> nodes;                 ///< node indices in topological order
  std::vector<std::string> source_topics; ///< sorted
};

/// The graph of an application: nodes, sub-topologies, topics. Cheap to copy (shared, immutable).
class topology {
public:
  topology() = default;

  /// All nodes, indexed by node id.
  const std::vector<topology_node>& nodes() const { return graph_->nodes; }

  /// The sub-topologies, indexed by id.
  const std::vector<subtopology>& subtopologies() const { return graph_->subtopologies; }

  /// Every topic read by a source node, sorted.
  std::vector<std::string> source_topics() const;

  /// The sub-topology reading `topic`, or -1.
  int subtopology_of(const std::string& topic) const;

  /// The source node reading `topic`, or -1.
  int source_node_of(const std::string& topic) const;

  /// True if sub-topology `id` writes records to Kafka (a sink, or a store's changelog); dead
  /// letters aside. One that does not (an alert sink's) has nothing for a transaction to hold.
  bool writes_records(int id) const;

  /// True if a node of sub-topology `id` has a state store.
  bool has_stores(int id) const;

  /// Kafka Streams' `Topology#describe()` style: nodes, "(stores: [s])", then the internal topics.
  std::string describe() const;

  /// This topology run as application `application_id`: internal topics (repartition and alerts
  /// topics) get their full names "<application.id>-<name>" in nodes' topics and in `resolve_topic`.
  topology with_application_id(const std::string& application_id) const;

  /// The full name of `topic`: prefixed with the application id if it is internal.
  std::string resolve_topic(const std::string& topic) const;

  /// Internal topics other than changelogs: the repartition topics, "-alerts" ones included (the
  /// runtime treats them alike), by full name once `with_application_id` was applied.
  std::vector<std::string> repartition_topics() const;

  /// The application id `with_application_id` set ("" before).
  const std::string& application_id() const { return graph_->application_id; }

  /// The changelog topic of store `store`: "<application.id>-<store>-changelog".
  std::string changelog_topic(const std::string& store) const;

private:
  friend class topology_builder;
  struct graph {
    std::vector<topology_node> nodes;
    std::vector<subtopology> subtopologies;
    std::vector<std::string> internal_topics; // base names, e.g. "by-host-repartition", "slack-alerts"
    std::string application_id;               // set by with_application_id
  };
  std::shared_ptr<const graph> graph_ = std::make_shared<graph>();
};

} // namespace sluice
