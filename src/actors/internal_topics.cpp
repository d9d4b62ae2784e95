#include "actors/internal_topics.hpp"

#include "actors/endpoint_directory.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <thread>

namespace sluice {

namespace {

using namespace std::chrono_literals;

constexpr int admin_request_timeout_ms = 30000;
constexpr int create_operation_timeout_ms = 30000; // the broker answers once the topics exist
constexpr auto visible_timeout = 30s;              // for created topics to show in metadata

/// Waits before attempt `attempt + 1` (1 s, 2 s, ... 5 s); throws if `stopping()`.
void wait_before_retry(int attempt, const std::function<bool()>& stopping, const std::string& what) {
  if (stopping())
    throw std::runtime_error("stopped while " + what);
  std::this_thread::sleep_for(std::chrono::seconds(std::min(attempt, 5)));
}

using event_ptr = std::unique_ptr<rd_kafka_event_t, decltype(&rd_kafka_event_destroy)>;

/// Sends one Admin API request with `send(options, queue)` and waits for its answer (null if none).
event_ptr call_admin(rd_kafka_t* rk, rd_kafka_admin_op_t op,
                     const std::function<void(rd_kafka_AdminOptions_t*, rd_kafka_queue_t*)>& send) {
  char err[256];
  auto* queue = rd_kafka_queue_new(rk);
  auto* options = rd_kafka_AdminOptions_new(rk, op);
  rd_kafka_AdminOptions_set_request_timeout(options, admin_request_timeout_ms, err, sizeof(err));
  if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS)
    rd_kafka_AdminOptions_set_operation_timeout(options, create_operation_timeout_ms, err, sizeof(err));
  send(options, queue);
  event_ptr answer{rd_kafka_queue_poll(queue, admin_request_timeout_ms + create_operation_timeout_ms + 5000),
                   &rd_kafka_event_destroy};
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_queue_destroy(queue);
  return answer;
}

/// A metadata answer: broker ids and the partition counts of topics (0 for a topic in error).
struct metadata_answer {
  std::vector<int32_t> brokers;
  std::map<std::string, int> topics;
};

/// Metadata of every topic (`all`) or of locally known ones only; creates nothing. Retries while
/// Kafka is unreachable.
metadata_answer cluster_metadata(rd_kafka_t* rk, bool all, const std::function<bool()>& stopping) {
  for (int attempt = 1;; ++attempt) {
    const rd_kafka_metadata_t* md = nullptr;
    const auto err = rd_kafka_metadata(rk, all ? 1 : 0, nullptr, &md, 10000);
    if (!err) {
      metadata_answer out;
      for (int i = 0; i < md->broker_cnt; ++i)
        out.brokers.push_back(md->brokers[i].id);
      for (int i = 0; i < md->topic_cnt; ++i)
        out.topics[md->topics[i].topic] = md->topics[i].err ? 0 : md->topics[i].partition_cnt;
      rd_kafka_metadata_destroy(md);
      return out;
    }
    spdlog::warn("cannot reach Kafka at {} for metadata: {} (retrying)", rd_kafka_name(rk), rd_kafka_err2str(err));
    wait_before_retry(attempt, stopping, "waiting for Kafka");
  }
}

/// Partition counts of `topics` (0 = missing), asked for by name: the embedded broker auto-creates
/// each one it does not have, with 4 partitions. Retries while the cluster is unreachable.
std::map<std::string, int> auto_created_counts(rd_kafka_t* rk, const std::vector<std::string>& topics,
                                               const std::function<bool()>& stopping) {
  std::map<std::string, int> out;
  for (const auto& name : topics) {
    auto* t = rd_kafka_topic_new(rk, name.c_str(), nullptr);
    for (int attempt = 1;; ++attempt) {
      const rd_kafka_metadata_t* md = nullptr;
      const auto err = rd_kafka_metadata(rk, 0, t, &md, 5000);
      if (!err) {
        int count = 0;
        for (int i = 0; i < md->topic_cnt; ++i)
          if (md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR)
            count = md->topics[i].partition_cnt;
        rd_kafka_metadata_destroy(md);
        out[name] = count;
        break;
      }
      spdlog::warn("cannot reach Kafka for metadata of '{}': {} (retrying)", name, rd_kafka_err2str(err));
      try {
        wait_before_retry(attempt, stopping, "waiting for Kafka");
      } catch (...) {
        rd_kafka_topic_destroy(t);
        throw;
      }
    }
    rd_kafka_topic_destroy(t);
  }
  return out;
}

/// Asks a broker for its configuration: tells whether the cluster has the Admin API at all, and
/// reads default.replication.factor. Retries while there is no answer.
cluster_info probe_cluster(rd_kafka_t* rk, const std::function<bool()>& stopping) {
  for (int attempt = 1;; ++attempt) {
    const auto md = cluster_metadata(rk, false, stopping);
    const auto broker = md.brokers.empty() ? std::string{"-1"} : std::to_string(md.brokers.front());
    auto* resource = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_BROKER, broker.c_str());
    auto answer = call_admin(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, [&](auto* options, auto* queue) {
      rd_kafka_DescribeConfigs(rk, &resource, 1, options, queue);
    });
    rd_kafka_ConfigResource_destroy(resource);
    const auto err = answer ? rd_kafka_event_error(answer.get()) : RD_KAFKA_RESP_ERR__TIMED_OUT;
    const std::string text = answer ? rd_kafka_event_error_string(answer.get()) : "no answer";
    switch (classify_admin_api_probe(err)) {
    case admin_api_probe::absent:
      spdlog::info("the cluster has no Admin API (DescribeConfigs: {}): the embedded broker; internal topics "
                   "are auto-created with its 4 partitions",
                   text);
      return {};
    case admin_api_probe::retry:
      spdlog::warn("the cluster does not answer DescribeConfigs (broker {}): {} ({}); retrying", broker, text,
                   rd_kafka_err2name(err));
      wait_before_retry(attempt, stopping, "asking the cluster for its configuration");
      continue;
    case admin_api_probe::answered:
      break;
    }
    cluster_info out;
    out.admin_api = true;
    out.default_replication_factor_error = err ? text + " (" + rd_kafka_err2name(err) + ")" : "";
    size_t count = 0;
    const auto* result = err ? nullptr : rd_kafka_event_DescribeConfigs_result(answer.get());
    const auto* const* resources = result ? rd_kafka_DescribeConfigs_result_resources(result, &count) : nullptr;
    for (size_t i = 0; i < count; ++i) {
      if (auto e = rd_kafka_ConfigResource_error(resources[i])) {
        out.default_replication_factor_error =
          std::string{rd_kafka_ConfigResource_error_string(resources[i])} + " (" + rd_kafka_err2name(e) + ")";
        continue;
      }
      size_t n = 0;
      const auto* const* entries = rd_kafka_ConfigResource_configs(resources[i], &n);
      for (size_t j = 0; j < n; ++j)
        if (std::string_view{rd_kafka_ConfigEntry_name(entries[j])} == "default.replication.factor" &&
            rd_kafka_ConfigEntry_value(entries[j]))
          try {
            out.default_replication_factor = std::stoi(rd_kafka_ConfigEntry_value(entries[j]));
          } catch (const std::exception&) {
            out.default_replication_factor_error = "unreadable default.replication.factor";
          }
    }
    if (!out.default_replication_factor && out.default_replication_factor_error.empty())
      out.default_replication_factor_error = "broker " + broker + " did not list default.replication.factor";
    return out;
  }
}

/// Sends CreateTopics for `names` with `factor`; one result per topic.
std::vector<create_result> create_topics(rd_kafka_t* rk, const std::vector<std::string>& names,
                                         const std::map<std::string, internal_topic>& wanted, int factor) {
  std::vector<create_result> out;
  std::vector<rd_kafka_NewTopic_t*> requests;
  std::vector<std::string> requested;
  char err[512];
  for (const auto& name : names) {
    const auto& spec = wanted.at(name);
    auto* nt = rd_kafka_NewTopic_new(name.c_str(), spec.partitions, factor, err, sizeof(err));
    if (!nt) {
      out.push_back({name, RD_KAFKA_RESP_ERR__INVALID_ARG, err});
      continue;
    }
    for (const auto& [k, v] : spec.configs)
      rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str());
    requests.push_back(nt);
    requested.push_back(name);
  }
  if (requests.empty())
    return out;
  auto answer = call_admin(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS, [&](auto* options, auto* queue) {
    rd_kafka_CreateTopics(rk, requests.data(), requests.size(), options, queue);
  });
  const auto request_error = answer ? rd_kafka_event_error(answer.get()) : RD_KAFKA_RESP_ERR__TIMED_OUT;
  if (request_error) {
    const std::string text = answer ? rd_kafka_event_error_string(answer.get()) : "no answer";
    for (const auto& name : requested)
      out.push_back({name, request_error, text});
  } else {
    size_t n = 0;
    const auto* results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(answer.get()), &n);
    for (size_t i = 0; i < n; ++i) {
      const char* text = rd_kafka_topic_result_error_string(results[i]);
      out.push_back(
        {rd_kafka_topic_result_name(results[i]), rd_kafka_topic_result_error(results[i]), text ? text : ""});
    }
  }
  rd_kafka_NewTopic_destroy_array(requests.data(), requests.size());
  return out;
}

/// Creates `names` until every one exists, retrying as `decide_create` says; `factor` ends as the
/// replication factor the cluster took. Throws std::runtime_error on a refusal.
void create_missing(rd_kafka_t* rk, std::vector<std::string> names, const std::map<std::string, internal_topic>& wanted,
                    int& factor, const cluster_info& cluster, const std::function<bool()>& stopping) {
  for (int attempt = 1;; ++attempt) {
    const auto results = create_topics(rk, names, wanted, factor);
    for (const auto& r : results)
      if (!r.error) {
        const auto& spec = wanted.at(r.topic);
        std::vector<std::string> configs;
        for (const auto& [k, v] : spec.configs)
          configs.push_back(k + "=" + v);
        spdlog::info("created internal topic {}: {} partition(s), replication factor {}, {}", r.topic, spec.partitions,
                     factor == -1 ? "broker default" : std::to_string(factor), fmt::join(configs, ", "));
      }
    auto d = decide_create(results, factor, wanted, cluster);
    switch (d.next) {
    case create_decision::step::done:
      return;
    case create_decision::step::fail:
      throw std::runtime_error(d.message);
    case create_decision::step::retry_with_factor:
      spdlog::warn("{}", d.message);
      factor = d.replication_factor;
      break;
    case create_decision::step::retry:
      spdlog::warn("cannot create internal topics yet: {}; retrying", d.message);
      wait_before_retry(attempt, stopping, "creating internal topics");
      break;
    }
    names = std::move(d.topics);
  }
}

/// Waits until every topic of `names` shows in metadata with partitions, up to `visible_timeout`.
void wait_until_visible(rd_kafka_t* rk, const std::vector<std::string>& names, const std::function<bool()>& stopping) {
  const auto deadline = std::chrono::steady_clock::now() + visible_timeout;
  for (;;) {
    const auto md = cluster_metadata(rk, true, stopping);
    const bool all = std::all_of(names.begin(), names.end(), [&](const std::string& t) {
      auto it = md.topics.find(t);
      return it != md.topics.end() && it->second > 0;
    });
    if (all || std::chrono::steady_clock::now() > deadline)
      return;
    if (stopping())
      throw std::runtime_error("stopped while waiting for internal topics to show in metadata");
    std::this_thread::sleep_for(200ms);
  }
}

enum class create_error_kind { ok, retriable, factor_refused, refused };

create_error_kind classify_create_error(rd_kafka_resp_err_t e, int factor) {
  switch (e) {
  case RD_KAFKA_RESP_ERR_NO_ERROR:
  case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS: // another instance was faster; checked afterwards
    return create_error_kind::ok;
  case RD_KAFKA_RESP_ERR__TIMED_OUT:
  case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
  case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT: // the broker may still finish: already-exists next time
  case RD_KAFKA_RESP_ERR__TRANSPORT:
  case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
  case RD_KAFKA_RESP_ERR__RESOLVE:
  case RD_KAFKA_RESP_ERR_NOT_CONTROLLER:
  case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
  case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
  case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
  case RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR:
  case RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED:
    return create_error_kind::retriable;
  case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
  case RD_KAFKA_RESP_ERR_INVALID_REPLICA_ASSIGNMENT:
    return create_error_kind::factor_refused;
  case RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE: // librdkafka's answer to -1 on brokers before 2.4
    return factor == -1 ? create_error_kind::factor_refused : create_error_kind::refused;
  default:
    return create_error_kind::refused;
  }
}

/// The command that creates `spec` by hand.
std::string create_command(const internal_topic& spec, int factor) {
  std::string cmd = fmt::format("kafka-topics.sh --create --topic {} --partitions {}", spec.name, spec.partitions);
  if (factor > 0)
    cmd += " --replication-factor " + std::to_string(factor);
  for (const auto& [k, v] : spec.configs)
    cmd += " --config " + k + "=" + v;
  return cmd;
}

/// What to do about a refusal of `spec` with `e`.
std::string refusal_advice(rd_kafka_resp_err_t e, const internal_topic& spec, int factor) {
  const auto by_hand = "create it yourself: " + create_command(spec, factor);
  switch (e) {
  case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
  case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    return "grant sluice's principal CREATE on the cluster or on topic '" + spec.name + "', or " + by_hand;
  case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
    return "a topic config was refused: check the topic.* settings, or " + by_hand;
  case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
    return "the broker's create.topic.policy.class.name refused it: change topic.* / replication.factor to suit "
           "it, or " +
           by_hand;
  case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    return "not a valid topic name (at most 249 of [a-zA-Z0-9._-]): change application.id or the store / "
           "repartition name";
  case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
    return "the broker refused " + std::to_string(spec.partitions) + " partition(s): " + by_hand;
  case RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION:
  case RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE:
    return "the broker does not support this CreateTopics request (sluice needs Apache Kafka 2.1 or later): " + by_hand;
  case RD_KAFKA_RESP_ERR__INVALID_ARG:
    return "librdkafka rejected the request: check replication.factor and the topic.* settings";
  case RD_KAFKA_RESP_ERR__DESTROY:
    return "the client is shutting down";
  case RD_KAFKA_RESP_ERR_INVALID_REQUEST:
  default:
    return by_hand;
  }
}

std::string refusal(const create_result& r, const std::string& advice) {
  return fmt::format("cannot create internal topic '{}': {} ({}): {}", r.topic, r.message, rd_kafka_err2name(r.error),
                     advice);
}

} // namespace

std::map<std::string, internal_topic>
plan_internal_topics(const topology& topo, const std::map<std::string, int>& partitions, const streams_config& config) {
  const auto repartition = topo.repartition_topics();
  auto is_repartition = [&](const std::string& t) {
    return std::find(repartition.begin(), repartition.end(), t) != repartition.end();
  };
  auto with_topic_configs = [&](std::map<std::string, std::string> configs) {
    for (const auto& [k, v] : config.topic_configs)
      configs[k] = v;
    return configs;
  };
  std::map<std::string, internal_topic> out;
  // Tasks per sub-topology: the most partitions among its sources. Sub-topologies are numbered in
  // graph order, so a repartition topic's writer comes before its readers.
  const auto& nodes = topo.nodes();
  for (const auto& s : topo.subtopologies()) {
    int tasks = 0;
    for (const auto& t : s.source_topics) {
      auto known = partitions.find(t);
      auto planned = out.find(t);
      tasks = std::max(tasks, known != partitions.end() && known->second > 0 ? known->second
                              : planned != out.end()                         ? planned->second.partitions
                                                                             : 0);
    }
    for (int id : s.nodes) {
      const auto& n = nodes[static_cast<size_t>(id)];
      if (n.store) {
        const auto name = topo.changelog_topic(n.store->name);
        auto configs = with_topic_configs({{"cleanup.policy", n.store->windowed ? "compact,delete" : "compact"}});
        if (n.store->windowed)
          configs["retention.ms"] =
            std::to_string(n.store->retention_ms + config.windowstore_changelog_additional_retention_ms);
        out[name] = {name, tasks, std::move(configs)};
      }
      if (n.kind == node_kind::sink && is_repartition(n.topics.front()))
        out[n.topics.front()] = {
          n.topics.front(), tasks,
          with_topic_configs({{"cleanup.policy", "delete"}, {"retention.ms", "-1"}, {"segment.bytes", "52428800"}})};
    }
  }
  if (config.deserialization_handler == exception_handler::log_and_continue ||
      config.processing_handler == exception_handler::log_and_continue) {
    const auto dlq = dead_letter_topic(config.application_id);
    out[dlq] = {dlq, 1, with_topic_configs({{"cleanup.policy", "delete"}})};
  }
  if (!config.application_server.empty() || config.num_standby_replicas > 0) { // each instance's latest entry
    const auto endpoints = endpoints_topic(config.application_id);
    out[endpoints] = {endpoints, 1, with_topic_configs({{"cleanup.policy", "compact"}})};
  }
  return out;
}

admin_api_probe classify_admin_api_probe(rd_kafka_resp_err_t request_error) {
  switch (request_error) {
  case RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE: // the broker's ApiVersions does not list DescribeConfigs
    return admin_api_probe::absent;
  case RD_KAFKA_RESP_ERR__TIMED_OUT:
  case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
  case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
  case RD_KAFKA_RESP_ERR__TRANSPORT:
  case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
  case RD_KAFKA_RESP_ERR__RESOLVE:
  case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
  case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    return admin_api_probe::retry;
  case RD_KAFKA_RESP_ERR_NO_ERROR:
  default: // a refusal (e.g. CLUSTER_AUTHORIZATION_FAILED) is an answer: the API exists
    return admin_api_probe::answered;
  }
}

create_decision decide_create(const std::vector<create_result>& results, int replication_factor,
                              const std::map<std::string, internal_topic>& wanted, const cluster_info& cluster) {
  create_decision d;
  std::vector<std::string> refusals, waits, factor_refused;
  std::vector<const create_result*> factor_results;
  for (const auto& r : results) {
    const auto& spec = wanted.at(r.topic);
    switch (classify_create_error(r.error, replication_factor)) {
    case create_error_kind::ok:
      break;
    case create_error_kind::retriable:
      d.topics.push_back(r.topic);
      waits.push_back(fmt::format("{}: {} ({})", r.topic, r.message, rd_kafka_err2name(r.error)));
      break;
    case create_error_kind::factor_refused:
      factor_refused.push_back(r.topic);
      factor_results.push_back(&r);
      break;
    case create_error_kind::refused:
      refusals.push_back(refusal(r, refusal_advice(r.error, spec, replication_factor)));
      break;
    }
  }
  if (!factor_results.empty()) {
    const bool broker_default = replication_factor == -1;
    if (broker_default && cluster.default_replication_factor && *cluster.default_replication_factor > 0) {
      if (refusals.empty()) {
        d.next = create_decision::step::retry_with_factor;
        d.replication_factor = *cluster.default_replication_factor;
        d.topics.insert(d.topics.end(), factor_refused.begin(), factor_refused.end());
        d.message = fmt::format("the cluster refused replication.factor=-1 for {}: {} ({}); brokers before 2.4 "
                                "do not take -1: using their default.replication.factor={}",
                                fmt::join(factor_refused, ", "), factor_results.front()->message,
                                rd_kafka_err2name(factor_results.front()->error), d.replication_factor);
        return d;
      }
    } else {
      for (const auto* r : factor_results) {
        const auto& spec = wanted.at(r->topic);
        refusals.push_back(refusal(
          *r, broker_default
                ? "the cluster does not take replication.factor=-1 (the broker's default; brokers before 2.4 refuse "
                  "it) and its default.replication.factor could not be read (" +
                    cluster.default_replication_factor_error +
                    "): set replication.factor to the number of replicas internal topics should have"
                : "set replication.factor (now " + std::to_string(replication_factor) +
                    ") to at most the number of brokers, or " + create_command(spec, replication_factor)));
      }
    }
  }
  if (!refusals.empty()) {
    d.next = create_decision::step::fail;
    d.topics.clear();
    d.message = fmt::format("{}\n(no task was started)", fmt::join(refusals, "\n"));
    return d;
  }
  if (!d.topics.empty()) {
    d.next = create_decision::step::retry;
    d.replication_factor = replication_factor;
    d.message = fmt::format("{}", fmt::join(waits, "; "));
    return d;
  }
  d.replication_factor = replication_factor;
  return d;
}

cluster_info ensure_internal_topics(rd_kafka_t* client, const topology& topo, const streams_config& config,
                                    const std::function<bool()>& stopping) {
  const auto cluster = probe_cluster(client, stopping);
  const auto repartition = topo.repartition_topics();
  auto is_repartition = [&](const std::string& t) {
    return std::find(repartition.begin(), repartition.end(), t) != repartition.end();
  };
  // User source topics must exist; their partition counts decide everything else. On a real
  // cluster they are looked up without asking for them by name, which could auto-create them.
  std::vector<std::string> sources;
  for (const auto& t : topo.source_topics())
    if (!is_repartition(t))
      sources.push_back(t);
  auto source_counts = [&] {
    if (!cluster.admin_api)
      return auto_created_counts(client, sources, stopping);
    const auto md = cluster_metadata(client, true, stopping);
    std::map<std::string, int> out;
    for (const auto& t : sources)
      out[t] = md.topics.count(t) ? md.topics.at(t) : 0;
    return out;
  };
  auto counts = source_counts();
  for (int attempt = 1; std::any_of(counts.begin(), counts.end(), [](auto& c) { return c.second == 0; }); ++attempt) {
    for (const auto& [t, n] : counts)
      if (n == 0)
        spdlog::warn("source topic '{}' does not exist yet; waiting for it", t);
    wait_before_retry(attempt, stopping, "waiting for source topics");
    counts = source_counts();
  }

  int factor = static_cast<int>(config.replication_factor);
  std::map<std::string, internal_topic> wanted;
  std::map<std::string, int> existing;
  for (int round = 1;; ++round) {
    existing = cluster_metadata(client, true, stopping).topics;
    auto known = counts;
    for (const auto& [t, n] : existing)
      known.emplace(t, n);
    wanted = plan_internal_topics(topo, known, config);
    std::vector<std::string> missing;
    for (const auto& [name, spec] : wanted)
      if (!existing.count(name) || existing.at(name) == 0)
        missing.push_back(name);
    if (missing.empty())
      break;
    if (round > 1)
      spdlog::warn("internal topics {} do not show in metadata yet (being deleted?); creating them again",
                   fmt::join(missing, ", "));
    if (!cluster.admin_api) {
      if (round > 3)
        throw std::runtime_error(
          fmt::format("internal topics {} are not auto-created by the cluster: create them", fmt::join(missing, ", ")));
      auto_created_counts(client, missing, stopping);
      continue;
    }
    create_missing(client, missing, wanted, factor, cluster, stopping);
    wait_until_visible(client, missing, stopping);
  }
  for (const auto& [name, spec] : wanted) {
    const int have = existing.at(name);
    if (have >= spec.partitions)
      continue;
    const auto fix = cluster.admin_api
                       ? fmt::format("give it {} partitions (kafka-topics.sh --alter --topic {} --partitions {})",
                                     spec.partitions, name, spec.partitions)
                       : fmt::format("create it with {} partitions (embedded broker: sluice-broker --topic {}:{})",
                                     spec.partitions, name, spec.partitions);
    throw std::runtime_error(fmt::format("internal topic '{}' has {} partition(s) but {} task(s) write to it: {}", name,
                                         have, spec.partitions, fix));
  }
  return cluster;
}

repartition_purger::repartition_purger(rd_kafka_t* client, std::set<std::string> topics,
                                       std::chrono::milliseconds interval)
    : client_(client), answers_(rd_kafka_queue_new(client)), topics_(std::move(topics)), interval_(interval),
      last_purge_(std::chrono::steady_clock::now()) {}

repartition_purger::~repartition_purger() { rd_kafka_queue_destroy(answers_); }

void repartition_purger::committed(const rd_kafka_topic_partition_list_t* offsets) {
  std::lock_guard lock{mutex_};
  log_answers();
  for (int i = 0; offsets && i < offsets->cnt; ++i) {
    const auto& p = offsets->elems[i];
    if (!p.err && p.offset >= 0 && topics_.count(p.topic))
      below_[{p.topic, p.partition}] = p.offset;
  }
  const auto now = std::chrono::steady_clock::now();
  if (below_.empty() || now - last_purge_ < interval_)
    return;
  last_purge_ = now;
  auto* list = rd_kafka_topic_partition_list_new(static_cast<int>(below_.size()));
  for (const auto& [tp, offset] : below_)
    rd_kafka_topic_partition_list_add(list, tp.first.c_str(), tp.second)->offset = offset;
  below_.clear();
  auto* request = rd_kafka_DeleteRecords_new(list);
  rd_kafka_topic_partition_list_destroy(list);
  char err[256];
  auto* options = rd_kafka_AdminOptions_new(client_, RD_KAFKA_ADMIN_OP_DELETERECORDS);
  rd_kafka_AdminOptions_set_request_timeout(options, admin_request_timeout_ms, err, sizeof(err));
  rd_kafka_DeleteRecords(client_, &request, 1, options, answers_);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_DeleteRecords_destroy(request);
}

void repartition_purger::log_answers() {
  while (auto* event = rd_kafka_queue_poll(answers_, 0)) {
    if (auto e = rd_kafka_event_error(event)) {
      spdlog::warn("cannot purge repartition topics: {} ({}); the next commit tries again",
                   rd_kafka_event_error_string(event), rd_kafka_err2name(e));
    } else if (const auto* offsets =
                 rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(event))) {
      for (int i = 0; i < offsets->cnt; ++i) {
        const auto& p = offsets->elems[i];
        switch (p.err) {
        case RD_KAFKA_RESP_ERR_NO_ERROR:
          spdlog::debug("purged {}-{} below offset {}", p.topic, p.partition, p.offset);
          break;
        case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
          spdlog::warn("cannot purge {}-{}: grant sluice's principal DELETE on topic '{}' (its records are kept "
                       "meanwhile: repartition topics have no time retention)",
                       p.topic, p.partition, p.topic);
          break;
        default:
          spdlog::warn("cannot purge {}-{} below offset {}: {}; the next purge tries again", p.topic, p.partition,
                       p.offset, rd_kafka_err2str(p.err));
          break;
        }
      }
    }
    rd_kafka_event_destroy(event);
  }
}

} // namespace sluice
