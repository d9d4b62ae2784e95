// The instance's live page (`/`): the topology as a graph with records/s per operator, lag per
// partition and the latest alerts, refreshed every second from /topology, /metrics and /alerts.
#pragma once

#include <sluice/topology/topology.hpp>

#include <string>

namespace sluice {

/// `topo` as JSON for the page: {"application_id", "subtopologies": [{"id", "source_topics",
/// "nodes": [{"name", "kind", "topics", "children", "store": {"name", "windowed", "changelog"}}]}]}.
std::string topology_json(const topology& topo);

/// The page itself: HTML with its script and styles inline, nothing fetched from elsewhere.
const std::string& live_page_html();

} // namespace sluice
