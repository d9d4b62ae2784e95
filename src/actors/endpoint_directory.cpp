#include "actors/endpoint_directory.hpp"

#include "actors/kafka_client.hpp"
#include <sluice/topology/serdes.hpp>

#include <boost/json/value_from.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

namespace sluice {

std::string encode_endpoint(const std::string& server, const instance_assignment& assignment) {
  boost::json::object by_store;
  for (const auto& [store, tasks] : assignment.stores)
    by_store[store] = boost::json::value_from(tasks);
  std::string out;
  serdes::write_json(boost::json::object{{"server", server},
                                         {"tasks", boost::json::value_from(assignment.tasks)},
                                         {"stores", std::move(by_store)}},
                     out);
  return out;
}

std::optional<instance_endpoint> decode_endpoint(const std::string& id, std::string_view value) {
  auto strings = [](const boost::json::value& v) {
    std::set<std::string> out;
    for (const auto& t : v.as_array())
      out.insert(std::string{t.as_string()});
    return out;
  };
  try {
    const auto v = serdes::parse_json(value);
    instance_endpoint out{id, std::string{v.at("server").as_string()}, {strings(v.at("tasks")), {}}};
    for (const auto& [store, tasks] : v.at("stores").as_object())
      out.assignment.stores[std::string{store}] = strings(tasks);
    return out;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

namespace {

/// The latest claimer of each task named in `tasks_of(entry)`.
template <class Tasks>
std::map<std::string, const instance_endpoint*> latest_claims(const std::vector<instance_endpoint>& entries,
                                                              Tasks tasks_of) {
  std::map<std::string, const instance_endpoint*> latest;
  for (const auto& e : entries)
    if (const std::set<std::string>* tasks = tasks_of(e))
      for (const auto& task : *tasks) {
        auto& holder = latest[task];
        if (!holder || holder->offset < e.offset)
          holder = &e;
      }
  return latest;
}

} // namespace

std::vector<std::string> holders_of(const std::vector<instance_endpoint>& entries, const std::string& store,
                                    const std::string& self) {
  const auto latest = latest_claims(entries, [&](const instance_endpoint& e) -> const std::set<std::string>* {
    auto it = e.assignment.stores.find(store);
    return it == e.assignment.stores.end() ? nullptr : &it->second;
  });
  std::set<std::string> out;
  for (const auto& [task, e] : latest)
    if (e->server != self && !e->server.empty())
      out.insert(e->server);
  return {out.begin(), out.end()};
}

std::map<std::string, std::string> active_owners(const std::vector<instance_endpoint>& entries) {
  std::map<std::string, std::string> out;
  for (const auto& [task, e] : latest_claims(entries, [](const instance_endpoint& e) { return &e.assignment.tasks; }))
    out[task] = e->id;
  return out;
}

struct endpoint_directory::impl {
  using clock = std::chrono::steady_clock;
  std::string id, server;
  std::string topic;
  std::function<instance_assignment()> local;
  kafka_handle producer, consumer;
  mutable std::mutex mutex;
  std::map<std::string, std::pair<instance_endpoint, clock::time_point>> entries; // by id, with when it was read
  std::optional<instance_assignment> published; // what this instance's entry says (nullopt: to be written)
  clock::time_point published_at;
  std::atomic<bool> stop{false};
  std::thread thread;

  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    if (!m->err)
      return;
    auto* d = static_cast<impl*>(opaque);
    spdlog::warn("cannot publish this instance's endpoint to {}: {} (retrying)", d->topic, rd_kafka_err2str(m->err));
    std::lock_guard lock{d->mutex};
    d->published.reset();
  }

  /// Writes this instance's entry (`stores`; nullopt: a tombstone).
  void produce(const std::optional<std::string>& value) {
    void* payload = value ? const_cast<char*>(value->data()) : nullptr;
    const size_t size = value ? value->size() : 0;
    const auto err = rd_kafka_producev(producer.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(0),
                                       RD_KAFKA_V_KEY(id.data(), id.size()), RD_KAFKA_V_VALUE(payload, size),
                                       RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err)
      spdlog::warn("cannot publish this instance's endpoint to {}: {}", topic, rd_kafka_err2str(err));
  }

  void publish_if_changed() {
    auto now = local();
    {
      std::lock_guard lock{mutex};
      if (published == now && clock::now() - published_at < heartbeat)
        return;
      published = now;
      published_at = clock::now();
    }
    produce(encode_endpoint(server, now));
  }

  void read(const rd_kafka_message_t* m) {
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        spdlog::warn("cannot read {}: {}", topic, rd_kafka_message_errstr(m));
      return;
    }
    const std::string key{static_cast<const char*>(m->key), m->key_len};
    std::lock_guard lock{mutex};
    if (!m->payload) {
      entries.erase(key);
      return;
    }
    auto entry = decode_endpoint(key, {static_cast<const char*>(m->payload), m->len});
    if (!entry) {
      spdlog::warn("ignoring a malformed entry for '{}' in {} at offset {}", key, topic, m->offset);
      return;
    }
    entry->offset = m->offset;
    entries[key] = {std::move(*entry), clock::now()};
  }

  void run() {
    while (!stop.load()) {
      publish_if_changed();
      rd_kafka_poll(producer.get(), 0);
      if (auto* m = rd_kafka_consumer_poll(consumer.get(), 200)) {
        read(m);
        rd_kafka_message_destroy(m);
      }
    }
  }
};

endpoint_directory::endpoint_directory(const streams_config& config, std::string id, std::string server,
                                       std::function<instance_assignment()> local)
    : impl_(std::make_unique<impl>()) {
  auto& d = *impl_;
  d.id = std::move(id);
  d.server = std::move(server);
  d.topic = endpoints_topic(config.application_id);
  d.local = std::move(local);
  const std::map<std::string, std::string> common{{"bootstrap.servers", config.bootstrap_servers},
                                                  {"client.id", config.application_id + "-endpoints"}};
  d.producer =
    make_kafka_client(RD_KAFKA_PRODUCER, {common, config.kafka_common, config.kafka_producer, {{"linger.ms", "0"}}},
                      "the endpoint producer", [&d](rd_kafka_conf_t* conf) {
                        rd_kafka_conf_set_opaque(conf, &d);
                        rd_kafka_conf_set_dr_msg_cb(conf, &impl::on_delivery);
                      });
  d.consumer = make_kafka_client(RD_KAFKA_CONSUMER,
                                 {common,
                                  {{"group.id", config.application_id + "-endpoints"}, {"enable.auto.commit", "false"}},
                                  config.kafka_common,
                                  config.kafka_consumer},
                                 "the endpoint reader");
  rd_kafka_poll_set_consumer(d.consumer.get());
  std::unique_ptr<rd_kafka_topic_partition_list_t, decltype(&rd_kafka_topic_partition_list_destroy)> parts{
    rd_kafka_topic_partition_list_new(1), &rd_kafka_topic_partition_list_destroy};
  rd_kafka_topic_partition_list_add(parts.get(), d.topic.c_str(), 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
  if (auto err = rd_kafka_assign(d.consumer.get(), parts.get()))
    throw std::runtime_error("cannot read " + d.topic + ": " + rd_kafka_err2str(err));
  d.thread = std::thread([&d] { d.run(); });
}

endpoint_directory::~endpoint_directory() {
  auto& d = *impl_;
  d.stop = true;
  d.thread.join();
  d.produce(std::nullopt);
  rd_kafka_flush(d.producer.get(), 2000);
  rd_kafka_consumer_close(d.consumer.get());
}

const std::string& endpoint_directory::id() const { return impl_->id; }

const std::string& endpoint_directory::server() const { return impl_->server; }

std::vector<instance_endpoint> endpoint_directory::entries() const {
  std::lock_guard lock{impl_->mutex};
  const auto now = impl::clock::now();
  std::vector<instance_endpoint> out;
  for (const auto& [id, e] : impl_->entries)
    if (now - e.second < expiry)
      out.push_back(e.first);
  return out;
}

std::vector<std::string> endpoint_directory::holders(const std::string& store) const {
  return holders_of(entries(), store, impl_->server);
}

} // namespace sluice
