// The immutable topology graph built by `topology_builder`.
#pragma once

#include "topology/processor.hpp"

#include <functional>
#include <memory>
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

/// One node of the graph.
struct topology_node {
  std::string name;                                   ///< unique, e.g. "FILTER-0000000001"
  node_kind kind = node_kind::processor;              ///<
  std::vector<std::string> topics;                    ///< source topics, or the sink topic
  std::vector<int> parents;                           ///< node indices
  std::vector<std::vector<int>> outputs{{}};          ///< children per output port
  std::function<std::unique_ptr<processor>()> make;   ///< creates the per-task processor
  int subtopology = -1;                               ///< assigned by `topology_builder::build`
};

/// A connected part of the graph with its own source topics; one task per source partition.
struct subtopology {
  int id = 0;
  std::vector<int> nodes;                  ///< node indices in topological order
  std::vector<std::string> source_topics;  ///< sorted
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

  /// A human-readable description in the style of Kafka Streams' `Topology#describe()`.
  std::string describe() const;

private:
  friend class topology_builder;
  struct graph {
    std::vector<topology_node> nodes;
    std::vector<subtopology> subtopologies;
  };
  std::shared_ptr<const graph> graph_ = std::make_shared<graph>();
};

} // namespace sluice
