// `topology_builder`: where an application declares its streams; `build()` freezes the graph.
#pragma once

#include <sluice/topology/serdes.hpp>
#include <sluice/topology/timestamp_extractor.hpp>
#include <sluice/topology/topology.hpp>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sluice {

template <class K, class V>
class stream;
template <class K, class V, serde KS, serde VS>
class table;

/// Collects sources, operators and sinks into a graph. Not thread-safe; build once.
class topology_builder {
public:
  /// The records of `topics`, deserialized with KS (keys) and VS (values).
  template <serde KS, serde VS>
  sluice::stream<typename KS::value_type, typename VS::value_type> stream(std::vector<std::string> topics,
                                                                          std::string name = {});

  /// The records of one topic.
  template <serde KS, serde VS>
  sluice::stream<typename KS::value_type, typename VS::value_type> stream(const std::string& topic) {
    return stream<KS, VS>(std::vector<std::string>{topic});
  }

  /// The records of `topic` with event time from `options.timestamp` (see timestamp_extractor.hpp).
  template <serde KS, serde VS>
  sluice::stream<typename KS::value_type, typename VS::value_type> stream(const std::string& topic,
                                                                          consumed<typename VS::value_type> options);

  /// `topic` as a table: the latest value per key, materialized in the store "<name>-store";
  /// an empty (or null) value deletes its key.
  template <serde KS, serde VS>
  sluice::table<typename KS::value_type, typename VS::value_type, KS, VS>
  table(const std::string& topic, consumed<typename VS::value_type> options = {});

  /// Freezes the graph: checks it, groups nodes into sub-topologies. Throws `topology_error`.
  topology build();

  /// A parent output: node index and output port.
  struct output {
    int node;
    int port;
  };

  /// Adds a node fed by `parents`; returns its index. Used by the DSL.
  int add_node(std::string name, node_kind kind, std::vector<output> parents, std::vector<std::string> topics,
               std::function<std::unique_ptr<processor>()> make);

  /// Gives node `node` `count` output ports. Used by the DSL.
  void set_ports(int node, size_t count);

  /// A fresh node name, e.g. "FILTER-0000000003". Used by the DSL.
  std::string next_name(const char* kind);

  /// Declares `topic` internal: it is named "<application.id>-<topic>" at run time. Used by the DSL.
  void add_internal_topic(const std::string& topic);

  /// The node at `index`, to attach a store or punctuation. Used by the DSL.
  topology_node& node(int index) { return nodes_.at(static_cast<size_t>(index)); }

private:
  std::vector<topology_node> nodes_;
  std::vector<std::string> internal_topics_;
};

} // namespace sluice
