#include "actors/internal_topics.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>

namespace sluice {

namespace {

/// Partition counts of `topics` (0 = missing); asks for each by name, which auto-creates topics
/// on clusters that allow it. Retries while the cluster is unreachable.
std::map<std::string, int> partition_counts(rd_kafka_t* rk, const std::vector<std::string>& topics,
                                            const std::function<bool()>& stopping) {
  std::map<std::string, int> out;
  for (const auto& name : topics) {
    auto* t = rd_kafka_topic_new(rk, name.c_str(), nullptr);
    for (int attempt = 1;; ++attempt) {
      const rd_kafka_metadata_t* md = nullptr;
      auto err = rd_kafka_metadata(rk, 0, t, &md, 5000);
      if (!err) {
        int count = 0;
        for (int i = 0; i < md->topic_cnt; ++i)
          if (md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR)
            count = md->topics[i].partition_cnt;
        rd_kafka_metadata_destroy(md);
        out[name] = count;
        break;
      }
      if (stopping()) {
        rd_kafka_topic_destroy(t);
        throw std::runtime_error("stopped while waiting for Kafka");
      }
      spdlog::warn("cannot reach Kafka for metadata of '{}': {} (retrying)", name, rd_kafka_err2str(err));
      std::this_thread::sleep_for(std::chrono::seconds(std::min(attempt, 5)));
    }
    rd_kafka_topic_destroy(t);
  }
  return out;
}

/// Sends one CreateTopics request; false if the cluster does not answer it in time.
bool create_topics(rd_kafka_t* rk, const std::map<std::string, std::pair<int, const char*>>& topics) {
  std::vector<rd_kafka_NewTopic_t*> requests;
  char err[256];
  for (const auto& [name, spec] : topics) {
    auto* nt = rd_kafka_NewTopic_new(name.c_str(), spec.first, -1, err, sizeof(err));
    if (!nt)
      continue;
    rd_kafka_NewTopic_set_config(nt, "cleanup.policy", spec.second);
    requests.push_back(nt);
  }
  auto* queue = rd_kafka_queue_new(rk);
  auto* options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(options, 3000, err, sizeof(err));
  rd_kafka_CreateTopics(rk, requests.data(), requests.size(), options, queue);
  auto* event = rd_kafka_queue_poll(queue, 4000);
  bool answered = false;
  if (event && rd_kafka_event_error(event) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    answered = true;
    size_t n = 0;
    const auto* results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &n);
    for (size_t i = 0; i < n; ++i) {
      auto code = rd_kafka_topic_result_error(results[i]);
      if (code && code != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        spdlog::warn("cannot create {}: {}", rd_kafka_topic_result_name(results[i]),
                     rd_kafka_topic_result_error_string(results[i]));
      else if (!code)
        spdlog::info("created internal topic {}", rd_kafka_topic_result_name(results[i]));
    }
  }
  if (event)
    rd_kafka_event_destroy(event);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy_array(requests.data(), requests.size());
  return answered;
}

} // namespace

void ensure_internal_topics(rd_kafka_t* client, const topology& topo, const std::function<bool()>& stopping) {
  const auto repartition = topo.repartition_topics();
  auto is_internal = [&](const std::string& t) {
    return std::find(repartition.begin(), repartition.end(), t) != repartition.end();
  };
  // User source topics must exist; their partition counts decide everything else.
  std::vector<std::string> sources;
  for (const auto& t : topo.source_topics())
    if (!is_internal(t))
      sources.push_back(t);
  auto counts = partition_counts(client, sources, stopping);
  for (int attempt = 1; std::any_of(counts.begin(), counts.end(), [](auto& c) { return c.second == 0; }); ++attempt) {
    for (const auto& [t, n] : counts)
      if (n == 0)
        spdlog::warn("source topic '{}' does not exist yet; waiting for it", t);
    if (stopping())
      throw std::runtime_error("stopped while waiting for source topics");
    std::this_thread::sleep_for(std::chrono::seconds(std::min(attempt, 5)));
    counts = partition_counts(client, sources, stopping);
  }

  // Tasks per sub-topology: the most partitions among its sources; a repartition topic gets as
  // many partitions as the sub-topology writing it has tasks. Sub-topologies are numbered in
  // graph order, so writers come before readers.
  std::map<std::string, std::pair<int, const char*>> wanted; // topic -> partitions, cleanup.policy
  const auto& nodes = topo.nodes();
  for (const auto& s : topo.subtopologies()) {
    int tasks = 0;
    for (const auto& t : s.source_topics)
      tasks = std::max(tasks, is_internal(t) ? wanted[t].first : counts.at(t));
    for (int id : s.nodes) {
      const auto& n = nodes[static_cast<size_t>(id)];
      if (n.store)
        wanted[topo.changelog_topic(n.store->name)] = {tasks, n.store->windowed ? "compact,delete" : "compact"};
      if (n.kind == node_kind::sink && is_internal(n.topics.front()))
        wanted[n.topics.front()] = {tasks, "delete"};
    }
  }
  if (wanted.empty())
    return;

  std::vector<std::string> names;
  for (const auto& [t, spec] : wanted)
    names.push_back(t);
  std::map<std::string, int> existing;
  std::map<std::string, std::pair<int, const char*>> missing;
  {
    // A cluster-wide metadata request tells which internal topics exist without creating any.
    const rd_kafka_metadata_t* md = nullptr;
    if (!rd_kafka_metadata(client, 1, nullptr, &md, 10000)) {
      for (int i = 0; i < md->topic_cnt; ++i)
        if (!md->topics[i].err)
          existing[md->topics[i].topic] = md->topics[i].partition_cnt;
      rd_kafka_metadata_destroy(md);
    }
    for (const auto& [t, spec] : wanted)
      if (!existing.count(t))
        missing.emplace(t, spec);
  }
  if (!missing.empty() && !create_topics(client, missing))
    spdlog::info("the cluster does not answer CreateTopics (the embedded broker does not): internal topics are "
                 "auto-created; pre-create them with the right partition counts if sources have other than 4");
  for (const auto& [t, n] : partition_counts(client, names, stopping)) {
    const int need = wanted.at(t).first;
    if (n < need)
      throw std::runtime_error("internal topic '" + t + "' has " + std::to_string(n) + " partition(s) but " +
                               std::to_string(need) + " task(s) write to it: create it with " + std::to_string(need) +
                               " partitions (embedded broker: sluice-broker --topic " + t + ":" +
                               std::to_string(need) + ")");
  }
}

} // namespace sluice
