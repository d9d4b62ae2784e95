#include <sluice/kafka_streams.hpp>

#include "actors/crash_report.hpp"
#include "actors/endpoint_directory.hpp"
#include "actors/group_member.hpp"
#include "actors/http_server.hpp"
#include "actors/interactive_queries.hpp"
#include "actors/live_page.hpp"
#include "actors/internal_topics.hpp"
#include "actors/messages.hpp"
#include "actors/record_collector.hpp"
#include "actors/memory_trimmer.hpp"
#include "actors/standby_tasks.hpp"
#include "actors/task_stores.hpp"
#include "state/state_directory.hpp"

#include <caf/all.hpp>
#include <leveldb/cache.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

namespace sluice {

void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("sluice");
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

namespace {

/// The partition count of every topic the topology reads (sources and repartition topics), which
/// exist by now; watermark announcements need them.
std::map<std::string, int32_t> partition_counts(rd_kafka_t* rk, const topology& topo) {
  std::map<std::string, int32_t> out;
  const rd_kafka_metadata_t* md = nullptr;
  if (auto err = rd_kafka_metadata(rk, 1, nullptr, &md, 10000))
    throw std::runtime_error(std::string{"cannot read topic metadata: "} + rd_kafka_err2str(err));
  for (int i = 0; i < md->topic_cnt; ++i)
    if (!md->topics[i].err)
      out[md->topics[i].topic] = md->topics[i].partition_cnt;
  rd_kafka_metadata_destroy(md);
  for (const auto& t : topo.source_topics())
    if (!out.count(t))
      throw std::runtime_error("topic '" + t + "' is missing from the cluster's metadata");
  return out;
}

/// Exactly-once: "<application.id>-<group.instance.id>", else "<application.id>-<instance slot>",
/// claimed in the state directory and held in `claim` (stable across restarts: a restarted
/// instance fences its predecessor and aborts what it left open). At-least-once: "".
std::string transactional_id(const streams_config& config, std::optional<instance_claim>& claim) {
  if (config.guarantee != processing_guarantee::exactly_once)
    return {};
  if (!config.group_instance_id.empty())
    return config.application_id + "-" + config.group_instance_id;
  auto dir = state_directory::open(config.state_dir, config.application_id);
  if (!dir)
    throw std::runtime_error("exactly-once needs an instance identity in state.dir: " + dir.error().message);
  auto claimed = dir->claim_instance();
  if (!claimed)
    throw std::runtime_error("exactly-once needs an instance identity in state.dir: " + claimed.error().message);
  claim.emplace(std::move(*claimed));
  return config.application_id + "-" + claim->id();
}

/// An id for an instance without application.server: its host name and 64 random bits.
std::string random_instance_id() {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  std::random_device random;
  return fmt::format("{}-{:08x}{:08x}", host, random(), random());
}

/// The gauge of `collector`'s producer queue, labelled producer=`name`; `collector` outlives the scrapes.
metrics_source producer_queue(std::string name, record_collector* collector) {
  return [name = std::move(name), collector](std::vector<metric_sample>& out) {
    out.push_back({"sluice_producer_queue_records",
                   "Records and requests the producer has not finished with",
                   metric_type::gauge,
                   {{"producer", name}},
                   static_cast<double>(collector->queue_length())});
  };
}

// How full the caches that every store of the instance shares are. Both are bounded: they fill up to
// their capacity and stay there.
metrics_source state_caches(std::shared_ptr<const store_resources> stores, int64_t block_cache_capacity) {
  return [stores = std::move(stores), block_cache_capacity](std::vector<metric_sample>& out) {
    auto gauges = [&](const char* cache, double used, double capacity) {
      out.push_back({"sluice_state_cache_bytes",
                     "Bytes a cache shared by the instance's stores holds",
                     metric_type::gauge,
                     {{"cache", cache}},
                     used});
      out.push_back({"sluice_state_cache_capacity_bytes",
                     "Bytes a cache shared by the instance's stores may hold",
                     metric_type::gauge,
                     {{"cache", cache}},
                     capacity});
    };
    gauges("record", double(stores->record_cache->used_bytes()), double(stores->record_cache->max_bytes()));
    gauges("block", double(stores->leveldb.block_cache->TotalCharge()), double(block_cache_capacity));
  };
}

} // namespace

struct kafka_streams::impl {
  topology topo;
  streams_config config;
  instance_metrics metrics;
  std::map<std::string, int32_t> partitions; // of every topic the topology reads
  std::unique_ptr<caf::actor_system_config> system_config;
  std::unique_ptr<caf::actor_system> system;
  std::optional<instance_claim> instance; // exactly-once: this instance's slot in the state directory
  std::unique_ptr<record_collector> collector;
  std::unique_ptr<record_collector> outside_collector; // exactly-once: for tasks outside the transaction
  group_member_actor member;
  caf::actor watcher;                // sees the member go down; without a handle it would end at once, unreachable
  std::unique_ptr<http_server> http; // application.server: /metrics, /health, the live page
  std::string http_address;
  std::unique_ptr<endpoint_directory> directory;         // where the other instances are, what they run
  std::unique_ptr<standby_tasks> standbys;               // num.standby.replicas: warm copies of others' tasks
  std::atomic<const endpoint_directory*> peers{nullptr}; // the same, as the HTTP thread sees it
  std::unique_ptr<memory_trimmer> trimmer;               // memory.trim.interval.ms
  std::shared_ptr<const store_resources> stores;         // what every store here shares (caches)
  mutable std::mutex mutex;
  std::string failure;
  bool stopped = false;
  bool started = false;
};

kafka_streams::kafka_streams(topology t, streams_config config) : impl_(std::make_unique<impl>()) {
  impl_->topo = t.with_application_id(config.application_id);
  impl_->config = std::move(config);
}

kafka_streams::~kafka_streams() { close(); }

void kafka_streams::start() {
  auto& d = *impl_;
  if (d.started)
    return;
  d.started = true;
  d.system_config = std::make_unique<caf::actor_system_config>();
  auto threads = d.config.num_stream_threads > 0 ? static_cast<size_t>(d.config.num_stream_threads)
                                                 : std::max(2u, std::thread::hardware_concurrency());
  d.system_config->set("scheduler.max-threads", threads);
  d.system_config->set("logger.console-verbosity", caf::atom("quiet"));
  add_error_category(*d.system_config);
  d.system = std::make_unique<caf::actor_system>(*d.system_config);
  d.collector = std::make_unique<record_collector>(d.config, transactional_id(d.config, d.instance));
  serve_http(); // /health says "starting" while the cluster is set up and the group joined
  sigset_t pending;
  auto cluster = ensure_internal_topics(d.collector->handle(), d.topo, d.config, [&] {
    sigpending(&pending);
    return sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM);
  });
  if (d.collector->transactional() && !cluster.admin_api)
    spdlog::warn("exactly-once on the embedded broker: its transactions are not real (no transaction markers, no "
                 "fencing, read_committed also sees aborted records); only a Kafka cluster gives exactly-once");
  d.collector->set_cluster(std::move(cluster), d.topo.repartition_topics());
  d.partitions = partition_counts(d.collector->handle(), d.topo);
  if (d.http || d.config.num_standby_replicas > 0) {
    const auto host = d.config.application_server.substr(0, d.config.application_server.rfind(':'));
    const auto server = d.http ? host + ":" + std::to_string(d.http->port()) : std::string{};
    d.directory =
      std::make_unique<endpoint_directory>(d.config, server.empty() ? random_instance_id() : server, server, [&d] {
        instance_assignment out;
        for (auto& t : d.metrics.tasks())
          out.tasks.insert(std::move(t));
        for (const auto& s : d.metrics.stores())
          out.stores[s->store].insert(s->task);
        return out;
      });
    d.peers = d.directory.get();
  }
  d.trimmer = std::make_unique<memory_trimmer>(std::chrono::milliseconds(d.config.memory_trim_interval_ms));
  d.stores = std::make_shared<const store_resources>(d.config);
  d.metrics.add_source(state_caches(d.stores, d.config.state_block_cache_max_bytes));
  d.metrics.add_source(heap_usage());
  if (d.config.num_standby_replicas > 0)
    d.standbys = std::make_unique<standby_tasks>(d.topo, d.config, d.stores, d.partitions, *d.directory, d.metrics);
  // Sub-topologies that write no records (alert sinks) have nothing for a transaction to hold:
  // their tasks commit at least once, and their dead letters go out through a producer of their own.
  const auto& subs = d.topo.subtopologies();
  if (d.collector->transactional() &&
      std::any_of(subs.begin(), subs.end(), [&](const subtopology& s) { return !d.topo.writes_records(s.id); })) {
    d.outside_collector = std::make_unique<record_collector>(d.config);
    d.metrics.add_source(producer_queue("outside_transaction", d.outside_collector.get()));
  }
  d.member = spawn_group_member(*d.system, d.topo, &d.config, d.collector.get(), d.outside_collector.get(), &d.metrics,
                                &d.partitions, d.stores);
  // The member goes in as an argument, not a capture: CAF 0.17 dereferences a null argument tuple
  // for actors spawned without arguments (undefined behaviour that UBSan stops at).
  d.watcher = d.system->spawn(
    [this](caf::event_based_actor* self, const group_member_actor& member) -> caf::behavior {
      self->monitor(member);
      self->set_down_handler([this, self](caf::down_msg& m) {
        std::lock_guard lock{impl_->mutex};
        impl_->stopped = true;
        if (m.reason) {
          impl_->failure = self->system().render(m.reason);
          impl_->metrics.state = instance_state::failed;
        }
        self->quit();
      });
      return {[](shutdown_atom) {}}; // alive (with a behavior and a handle) until the member is down
    },
    d.member);
}

void kafka_streams::close() {
  auto& d = *impl_;
  if (!d.system)
    return;
  d.http.reset();
  d.peers = nullptr;
  d.standbys.reset();
  d.trimmer.reset();
  d.directory.reset(); // this instance's entry goes: it no longer serves its stores
  caf::anon_send(d.member, shutdown_atom::value);
  d.system->await_all_actors_done();
  d.member = nullptr;
  d.watcher = nullptr;
  d.collector.reset(); // flushes what is still queued
  d.outside_collector.reset();
  d.system.reset();
  d.system_config.reset();
  spdlog::info("stopped: {} records processed, {} commits", d.metrics.records_processed.load(),
               d.metrics.commits.load());
}

int kafka_streams::run() {
  install_crash_report();
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr); // before start: every thread inherits the mask
  start();
  timespec tick{0, 200'000'000};
  while (!failed()) {
    int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) {
      spdlog::info("received {}, closing", sig == SIGINT ? "SIGINT" : "SIGTERM");
      break;
    }
  }
  close();
  if (failed()) {
    spdlog::error("stopped after a failure: {}", failure());
    return 1;
  }
  return 0;
}

bool kafka_streams::failed() const {
  std::lock_guard lock{impl_->mutex};
  return !impl_->failure.empty();
}

std::string kafka_streams::failure() const {
  std::lock_guard lock{impl_->mutex};
  return impl_->failure;
}

int64_t kafka_streams::records_consumed() const { return impl_->metrics.records_consumed; }
int64_t kafka_streams::records_processed() const { return impl_->metrics.records_processed; }
int64_t kafka_streams::commits() const { return impl_->metrics.commits; }
int64_t kafka_streams::rewinds() const { return impl_->metrics.rewinds; }
int32_t kafka_streams::assigned_partitions() const { return impl_->metrics.assigned_partitions; }
std::string kafka_streams::http_address() const { return impl_->http_address; }

void kafka_streams::serve_http() {
  auto& d = *impl_;
  if (d.config.application_server.empty())
    return;
  d.metrics.add_source(producer_queue("main", d.collector.get()));
  for (const auto& n : d.topo.nodes())
    if (n.metrics)
      d.metrics.add_source(n.metrics);
  d.http = std::make_unique<http_server>(d.config.application_server, [&d](std::string_view target) {
    const auto path = target.substr(0, target.find('?'));
    if (path == "/metrics")
      return http_response{200, "text/plain; version=0.0.4; charset=utf-8", prometheus_text(d.metrics.collect())};
    if (path == "/health") {
      const auto h = d.metrics.health();
      return http_response{h.ready ? 200 : 503, "application/json", h.json() + "\n"};
    }
    if (path == "/health/live")
      return http_response{200, "application/json", "{\"live\":true}\n"};
    if (path == "/")
      return http_response{200, "text/html; charset=utf-8", live_page_html()};
    if (path == "/topology")
      return http_response{200, "application/json", topology_json(d.topo)};
    if (path == "/stores" || path.starts_with("/stores/"))
      return stores_endpoint(target, d.metrics, d.peers.load());
    if (path == "/alerts")
      return http_response{200, "application/json", d.metrics.recent_alerts_json()};
    return http_response{404, "text/plain; charset=utf-8",
                         "not found: " + std::string{path} +
                           " (try /, /metrics, /health, /health/live, /topology, /alerts, /stores)\n"};
  });
  const auto host = d.config.application_server.substr(0, d.config.application_server.rfind(':'));
  d.http_address = "http://" + host + ":" + std::to_string(d.http->port()) + "/";
  spdlog::info("serving the live page at {} (and /metrics, /health)", d.http_address);
}

} // namespace sluice
