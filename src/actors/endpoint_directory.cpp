#include "actors/endpoint_directory.hpp"

#include "actors/kafka_client.hpp"
#include "topology/serdes.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

namespace sluice {

std::string encode_endpoint(const store_tasks& stores) {
  boost::json::object by_store;
  for (const auto& [store, tasks] : stores) {
    boost::json::array list;
    for (const auto& t : tasks)
      list.emplace_back(t);
    by_store[store] = std::move(list);
  }
  std::string out;
  serdes::write_json(boost::json::object{{"stores", std::move(by_store)}}, out);
  return out;
}

std::optional<store_tasks> decode_endpoint(std::string_view value) {
  try {
    const auto v = serdes::parse_json(value);
    store_tasks out;
    for (const auto& [store, tasks] : v.at("stores").as_object()) {
      auto& of_store = out[std::string{store}];
      for (const auto& t : tasks.as_array())
        of_store.insert(std::string{t.as_string()});
    }
    return out;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::vector<std::string> holders_of(const std::vector<instance_endpoint>& entries, const std::string& store,
                                    const std::string& self) {
  std::map<std::string, const instance_endpoint*> latest; // task → the entry with the latest claim on it
  for (const auto& e : entries)
    if (auto it = e.stores.find(store); it != e.stores.end())
      for (const auto& task : it->second) {
        auto& holder = latest[task];
        if (!holder || holder->offset < e.offset)
          holder = &e;
      }
  std::set<std::string> out;
  for (const auto& [task, e] : latest)
    if (e->server != self)
      out.insert(e->server);
  return {out.begin(), out.end()};
}

struct endpoint_directory::impl {
  std::string self;
  std::string topic;
  std::function<store_tasks()> local;
  kafka_handle producer, consumer;
  mutable std::mutex mutex;
  std::map<std::string, instance_endpoint> entries; // by server
  std::optional<store_tasks> published;             // what this instance's entry says (nullopt: to be written)
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
                                       RD_KAFKA_V_KEY(self.data(), self.size()), RD_KAFKA_V_VALUE(payload, size),
                                       RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err)
      spdlog::warn("cannot publish this instance's endpoint to {}: {}", topic, rd_kafka_err2str(err));
  }

  void publish_if_changed() {
    auto now = local();
    {
      std::lock_guard lock{mutex};
      if (published == now)
        return;
      published = now;
    }
    produce(encode_endpoint(now));
  }

  void read(const rd_kafka_message_t* m) {
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        spdlog::warn("cannot read {}: {}", topic, rd_kafka_message_errstr(m));
      return;
    }
    const std::string server{static_cast<const char*>(m->key), m->key_len};
    std::lock_guard lock{mutex};
    if (!m->payload) {
      entries.erase(server);
      return;
    }
    auto stores = decode_endpoint({static_cast<const char*>(m->payload), m->len});
    if (!stores) {
      spdlog::warn("ignoring a malformed entry for '{}' in {} at offset {}", server, topic, m->offset);
      return;
    }
    entries[server] = {server, std::move(*stores), m->offset};
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

endpoint_directory::endpoint_directory(const streams_config& config, std::string self,
                                       std::function<store_tasks()> local)
    : impl_(std::make_unique<impl>()) {
  auto& d = *impl_;
  d.self = std::move(self);
  d.topic = endpoints_topic(config.application_id);
  d.local = std::move(local);
  const std::map<std::string, std::string> common{{"bootstrap.servers", config.bootstrap_servers},
                                                  {"client.id", config.application_id + "-endpoints"}};
  d.producer = make_kafka_client(RD_KAFKA_PRODUCER, {common, config.kafka_common, config.kafka_producer, {{"linger.ms", "0"}}},
                                 "the endpoint producer", [&d](rd_kafka_conf_t* conf) {
                                   rd_kafka_conf_set_opaque(conf, &d);
                                   rd_kafka_conf_set_dr_msg_cb(conf, &impl::on_delivery);
                                 });
  d.consumer = make_kafka_client(RD_KAFKA_CONSUMER,
                                 {common,
                                  {{"group.id", config.application_id + "-endpoints"}, {"enable.auto.commit", "false"}},
                                  config.kafka_common, config.kafka_consumer},
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

const std::string& endpoint_directory::self() const { return impl_->self; }

std::vector<instance_endpoint> endpoint_directory::entries() const {
  std::lock_guard lock{impl_->mutex};
  std::vector<instance_endpoint> out;
  for (const auto& [server, e] : impl_->entries)
    out.push_back(e);
  return out;
}

std::vector<std::string> endpoint_directory::holders(const std::string& store) const {
  return holders_of(entries(), store, impl_->self);
}

} // namespace sluice
