#include <sluice/topology/topology.hpp>

#include <algorithm>
#include <sstream>

namespace sluice {

std::vector<std::string> topology::source_topics() const {
  std::vector<std::string> out;
  for (const auto& s : subtopologies())
    out.insert(out.end(), s.source_topics.begin(), s.source_topics.end());
  std::sort(out.begin(), out.end());
  return out;
}

int topology::source_node_of(const std::string& topic) const {
  const auto& ns = nodes();
  for (size_t i = 0; i < ns.size(); ++i)
    if (ns[i].kind == node_kind::source &&
        std::find(ns[i].topics.begin(), ns[i].topics.end(), topic) != ns[i].topics.end())
      return static_cast<int>(i);
  return -1;
}

int topology::subtopology_of(const std::string& topic) const {
  auto n = source_node_of(topic);
  return n < 0 ? -1 : nodes()[static_cast<size_t>(n)].subtopology;
}

bool topology::has_stores(int id) const {
  const auto& own = subtopologies()[static_cast<size_t>(id)].nodes;
  return std::any_of(own.begin(), own.end(), [&](int n) { return nodes()[static_cast<size_t>(n)].store.has_value(); });
}

bool topology::writes_records(int id) const {
  for (int n : subtopologies()[static_cast<size_t>(id)].nodes) {
    const auto& node = nodes()[static_cast<size_t>(n)];
    if (node.kind == node_kind::sink || node.store)
      return true;
  }
  return false;
}

topology topology::with_application_id(const std::string& application_id) const {
  auto g = std::make_shared<graph>(*graph_);
  g->application_id = application_id;
  topology t;
  t.graph_ = g;
  for (auto& n : g->nodes)
    for (auto& topic : n.topics)
      topic = t.resolve_topic(topic);
  for (auto& s : g->subtopologies)
    for (auto& topic : s.source_topics)
      topic = t.resolve_topic(topic);
  return t;
}

std::string topology::resolve_topic(const std::string& topic) const {
  const auto& internal = graph_->internal_topics;
  if (graph_->application_id.empty() || std::find(internal.begin(), internal.end(), topic) == internal.end())
    return topic;
  return graph_->application_id + "-" + topic;
}

std::vector<std::string> topology::repartition_topics() const {
  std::vector<std::string> out;
  for (const auto& t : graph_->internal_topics)
    out.push_back(resolve_topic(t));
  return out;
}

std::string topology::changelog_topic(const std::string& store) const {
  return graph_->application_id + "-" + store + "-changelog";
}

namespace {

std::string join(const std::vector<std::string>& xs) {
  std::string out;
  for (const auto& x : xs)
    out += (out.empty() ? "" : ", ") + x;
  return out;
}

} // namespace

std::string topology::describe() const {
  std::ostringstream os;
  os << "Topologies:\n";
  const auto& ns = nodes();
  for (const auto& s : subtopologies()) {
    os << "   Sub-topology: " << s.id << "\n";
    for (int id : s.nodes) {
      const auto& n = ns[static_cast<size_t>(id)];
      switch (n.kind) {
      case node_kind::source:
        os << "    Source: " << n.name << " (topics: [" << join(n.topics) << "])\n";
        break;
      case node_kind::processor:
        os << "    Processor: " << n.name;
        if (n.store)
          os << " (stores: [" << n.store->name << "])";
        os << "\n";
        break;
      case node_kind::sink:
        os << "    Sink: " << n.name << " (topic: " << join(n.topics) << ")\n";
        break;
      }
      std::vector<std::string> children, parents;
      for (const auto& port : n.outputs)
        for (int c : port)
          children.push_back(ns[static_cast<size_t>(c)].name);
      for (int p : n.parents)
        parents.push_back(ns[static_cast<size_t>(p)].name);
      if (!children.empty())
        os << "      --> " << join(children) << "\n";
      if (!parents.empty())
        os << "      <-- " << join(parents) << "\n";
    }
  }
  // The topics the application creates for itself, by full name once it has an application id.
  std::vector<std::pair<std::string, std::string>> internal; // topic, what it is
  for (const auto& t : graph_->internal_topics) {
    const bool alerts = t.size() >= 7 && t.compare(t.size() - 7, 7, "-alerts") == 0;
    internal.emplace_back(resolve_topic(t), alerts ? "alerts" : "repartition");
  }
  for (const auto& n : ns)
    if (n.store)
      internal.emplace_back(graph_->application_id.empty() ? n.store->name + "-changelog"
                                                           : changelog_topic(n.store->name),
                            "changelog of store " + n.store->name);
  if (!internal.empty()) {
    std::sort(internal.begin(), internal.end());
    os << "Internal topics:\n";
    for (const auto& [topic, what] : internal)
      os << "    " << topic << " (" << what << ")\n";
  }
  return os.str();
}

} // namespace sluice
