#include <sluice/topology/topology_builder.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <numeric>
#include <set>

namespace sluice {

int topology_builder::add_node(std::string name, node_kind kind, std::vector<output> parents,
                               std::vector<std::string> topics, std::function<std::unique_ptr<processor>()> make) {
  const int id = static_cast<int>(nodes_.size());
  topology_node n;
  n.name = std::move(name);
  n.kind = kind;
  n.topics = std::move(topics);
  n.make = std::move(make);
  for (auto [parent, port] : parents) {
    n.parents.push_back(parent);
    nodes_.at(static_cast<size_t>(parent)).outputs.at(static_cast<size_t>(port)).push_back(id);
  }
  nodes_.push_back(std::move(n));
  return id;
}

void topology_builder::set_ports(int node, size_t count) { nodes_.at(static_cast<size_t>(node)).outputs.resize(count); }

std::string topology_builder::next_name(const char* kind) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s-%010zu", kind, nodes_.size());
  return buf;
}

void topology_builder::add_internal_topic(const std::string& topic) {
  if (std::find(internal_topics_.begin(), internal_topics_.end(), topic) != internal_topics_.end())
    throw topology_error("internal topic '" + topic + "' is declared twice; give the operation another name");
  internal_topics_.push_back(topic);
}

topology topology_builder::build() {
  std::set<std::string> names, sources, stores;
  for (const auto& n : nodes_) {
    if (!names.insert(n.name).second)
      throw topology_error("two nodes are named '" + n.name + "'");
    if (n.store && !stores.insert(n.store->name).second)
      throw topology_error("two stores are named '" + n.store->name + "'");
    if (n.kind == node_kind::source)
      for (const auto& t : n.topics)
        if (!sources.insert(t).second)
          throw topology_error("topic '" + t + "' is read by two sources; read it once and reuse the stream");
  }
  // Sub-topologies are the connected components of the graph (union-find).
  std::vector<int> root(nodes_.size());
  std::iota(root.begin(), root.end(), 0);
  auto find = [&](int x) {
    while (root[static_cast<size_t>(x)] != x)
      x = root[static_cast<size_t>(x)] = root[static_cast<size_t>(root[static_cast<size_t>(x)])];
    return x;
  };
  for (size_t i = 0; i < nodes_.size(); ++i)
    for (int p : nodes_[i].parents)
      root[static_cast<size_t>(find(static_cast<int>(i)))] = find(p);

  topology t;
  auto g = std::make_shared<topology::graph>();
  g->nodes = nodes_;
  g->internal_topics = internal_topics_;
  std::map<int, int> component_id; // root -> sub-topology id, numbered by first node
  for (size_t i = 0; i < g->nodes.size(); ++i) {
    auto [it, fresh] = component_id.emplace(find(static_cast<int>(i)), static_cast<int>(g->subtopologies.size()));
    if (fresh)
      g->subtopologies.push_back(subtopology{it->second, {}, {}});
    auto& s = g->subtopologies[static_cast<size_t>(it->second)];
    // Nodes are created after their parents, so index order is a topological order.
    s.nodes.push_back(static_cast<int>(i));
    g->nodes[i].subtopology = s.id;
    if (g->nodes[i].kind == node_kind::source)
      s.source_topics.insert(s.source_topics.end(), g->nodes[i].topics.begin(), g->nodes[i].topics.end());
  }
  for (auto& s : g->subtopologies) {
    std::sort(s.source_topics.begin(), s.source_topics.end());
    if (s.source_topics.empty())
      throw topology_error("sub-topology " + std::to_string(s.id) + " has no source");
  }
  t.graph_ = std::move(g);
  return t;
}

} // namespace sluice
