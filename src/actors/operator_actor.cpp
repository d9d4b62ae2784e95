#include "actors/operator_actor.hpp"

#include "actors/messages.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <deque>

namespace sluice {

namespace {

/// A record the full producer queue refused, kept (with its bytes) until it can be enqueued.
struct refused_record {
  rd_kafka_topic_t* topic;
  std::string key, value;
  record_collector::outgoing r;
};

struct operator_state;
using operator_actor_t = caf::stateful_actor<operator_state>*;

struct operator_state : processor_context {
  static inline const char* name = "operator";

  operator_actor_t self = nullptr;
  operator_setup setup;
  const topology_node* node = nullptr;
  std::unique_ptr<processor> proc;
  node_store* store = nullptr;               // this node's store, if it declared one
  rd_kafka_topic_t* changelog = nullptr;     // the store's changelog topic
  delivery_epoch* epoch = nullptr;           // records produced since the last marker
  std::vector<rd_kafka_topic_t*> topics;     // sink topics by handle
  rd_kafka_topic_t* dlq = nullptr;
  std::deque<refused_record> refused;
  std::map<uint64_t, size_t> markers_seen;   // marker id -> parents it arrived from
  std::vector<uint64_t> markers_to_pass;     // complete markers waiting for earlier work
  int deferred = 0;                          // deferred batches not resumed yet

  ~operator_state() override {
    if (epoch)
      epoch->close(0); // nobody waits for it any more
    for (auto& r : refused)
      if (r.r.headers)
        rd_kafka_headers_destroy(r.r.headers);
  }

  void init(operator_actor_t s, operator_setup st) {
    self = s;
    setup = std::move(st);
    node = &setup.topo.nodes()[static_cast<size_t>(setup.node)];
    if (auto it = setup.stores->by_node.find(setup.node); it != setup.stores->by_node.end()) {
      store = &it->second;
      changelog = setup.collector->topic(store->changelog_topic);
      store->changelog->sink = [this](std::string_view key, std::optional<std::string_view> value, int64_t) {
        record_collector::outgoing r;
        r.key = key;
        r.value = value.value_or(std::string_view{});
        r.value_is_null = !value;
        r.timestamp = 0; // now, not the event time: retention.ms counts from the write (operations.md)
        r.partition = setup.partition;
        send(changelog, r);
      };
    }
    epoch = new delivery_epoch{caf::actor_cast<caf::actor>(self), changelog};
    dlq = setup.collector->topic(dead_letter_topic(setup.config->application_id));
    proc = node->make();
    proc->init(*this);
  }

  size_t parent_count() const { return node->kind == node_kind::source ? 1 : node->parents.size(); }

  /// True while earlier work must finish before the next batch or marker may run.
  bool held_back() const { return !refused.empty() || deferred > 0; }

  // processor_context

  void forward(batch_ptr b, int port) override {
    for (const auto& child : setup.ports[static_cast<size_t>(port)])
      self->send(child, batch_atom::value, b);
  }

  int sink_topic(const std::string& topic) override {
    topics.push_back(setup.collector->topic(setup.topo.resolve_topic(topic)));
    return static_cast<int>(topics.size() - 1);
  }

  void produce(int topic, std::string_view key, std::string_view value, int64_t ts, bool key_is_null) override {
    record_collector::outgoing r;
    r.key = key;
    r.value = value;
    r.timestamp = ts;
    r.key_is_null = key_is_null;
    send(topics[static_cast<size_t>(topic)], r);
  }

  void deserialization_failed(const raw_record& r, const std::exception& e) override {
    const auto where = *r.meta.topic + "-" + std::to_string(r.meta.partition) + "@" + std::to_string(r.meta.offset);
    if (setup.config->deserialization_handler == exception_handler::log_and_fail)
      throw stream_error("task " + setup.task_id + ": cannot deserialize record at " + where + ": " + e.what());
    spdlog::warn("task {}: cannot deserialize record at {}: {}; sent to {}", setup.task_id, where, e.what(),
                 dead_letter_topic(setup.config->application_id));
    record_collector::outgoing out;
    out.key = r.key;
    out.key_is_null = r.key_is_null;
    out.value = r.value;
    out.value_is_null = r.value_is_null;
    out.timestamp = r.meta.timestamp;
    out.headers = dead_letter_headers(r.meta, e.what(), {});
    send(dlq, out);
  }

  void processing_failed(const record_meta& meta, std::string_view n, const std::exception& e) override {
    const auto where = (meta.topic ? *meta.topic : std::string{"?"}) + "-" + std::to_string(meta.partition) + "@" +
                       std::to_string(meta.offset);
    if (setup.config->processing_handler == exception_handler::log_and_fail)
      throw stream_error("task " + setup.task_id + ": " + std::string{n} + " failed on record from " + where + ": " +
                         e.what());
    spdlog::warn("task {}: {} failed on record from {}: {}; position sent to {}", setup.task_id, n, where, e.what(),
                 dead_letter_topic(setup.config->application_id));
    record_collector::outgoing out;
    out.key_is_null = true;
    out.value_is_null = true;
    out.timestamp = meta.timestamp;
    out.headers = dead_letter_headers(meta, e.what(), n);
    send(dlq, out);
  }

  const std::string& task_id() const override { return setup.task_id; }

  key_value_store& key_value_state() override {
    if (!store || !store->key_value)
      throw std::logic_error(node->name + " declared no key-value store");
    return *store->key_value;
  }

  window_store& window_state() override {
    if (!store || !store->windows)
      throw std::logic_error(node->name + " declared no window store");
    return *store->windows;
  }

  resume_callback defer() override {
    ++deferred;
    return [me = caf::actor_cast<caf::actor>(self)](continuation c) {
      caf::anon_send(me, resume_atom::value, std::move(c));
    };
  }

  // handlers

  caf::result<void> on_batch(const batch_ptr& b) {
    if (held_back())
      return caf::skip;
    proc->process(b, *this);
    return caf::unit;
  }

  caf::result<void> on_marker(uint64_t id) {
    if (held_back())
      return caf::skip;
    if (++markers_seen[id] < parent_count())
      return caf::unit;
    markers_seen.erase(id);
    proc->flush(*this);
    if (store)
      store->flush(); // its changelog records join this epoch
    markers_to_pass.push_back(id);
    pass_markers();
    return caf::unit;
  }

  void on_epoch_acked(uint64_t id, int64_t changelog_offset) {
    if (id == 0)
      return;
    if (store && changelog_offset >= 0)
      store->checkpoint(changelog_offset);
    self->send(setup.task, marker_done_atom::value, setup.node, id);
  }

  void on_resume(const continuation& c) {
    --deferred;
    c(*this);
    pass_markers();
  }

  void on_retry() {
    while (!refused.empty()) {
      auto& r = refused.front();
      r.r.key = r.key;
      r.r.value = r.value;
      if (setup.collector->send(r.topic, r.r, epoch) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        break;
      refused.pop_front();
    }
    if (!refused.empty())
      self->delayed_send(self, std::chrono::milliseconds(5), retry_atom::value);
    else
      pass_markers();
  }

  caf::result<void> on_punctuate() {
    if (held_back())
      return caf::skip;
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
    proc->punctuate(now, *this);
    self->delayed_send(self, std::chrono::milliseconds(node->punctuate_interval_ms), punctuate_atom::value);
    return caf::unit;
  }

private:
  // Once every record before them is enqueued, markers move on: to the children, and this
  // operator's delivery epoch closes (the task hears when the broker acknowledged it all).
  void pass_markers() {
    if (held_back())
      return;
    for (auto id : markers_to_pass) {
      for (const auto& port : setup.ports)
        for (const auto& child : port)
          self->send(child, marker_atom::value, id);
      auto* closing = std::exchange(epoch, new delivery_epoch{caf::actor_cast<caf::actor>(self), changelog});
      closing->close(id);
    }
    markers_to_pass.clear();
  }

  void send(rd_kafka_topic_t* topic, const record_collector::outgoing& r) {
    if (refused.empty()) {
      if (!setup.collector->send(topic, r, epoch)) // throws production_error if it cannot be delivered
        return;
      self->delayed_send(self, std::chrono::milliseconds(5), retry_atom::value);
    }
    refused.push_back({topic, std::string{r.key}, std::string{r.value}, r});
  }

  static rd_kafka_headers_t* dead_letter_headers(const record_meta& meta, const char* error, std::string_view n) {
    auto* h = rd_kafka_headers_new(5);
    auto add = [&](const char* name, std::string_view v) {
      rd_kafka_header_add(h, name, -1, v.data(), static_cast<ssize_t>(v.size()));
    };
    add(dlq_header::error, error);
    if (!n.empty())
      add(dlq_header::node, n);
    add(dlq_header::source_topic, meta.topic ? std::string_view{*meta.topic} : std::string_view{});
    add(dlq_header::source_partition, std::to_string(meta.partition));
    add(dlq_header::source_offset, std::to_string(meta.offset));
    return h;
  }
};

caf::behavior operator_behavior(operator_actor_t self, operator_setup setup) {
  self->set_exception_handler([](caf::scheduled_actor*, std::exception_ptr& e) -> caf::error {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      return caf::make_error(caf::sec::runtime_error, std::string{x.what()});
    } catch (...) {
      return caf::make_error(caf::sec::runtime_error, "unknown exception");
    }
  });
  self->state.init(self, std::move(setup));
  if (auto every = self->state.node->punctuate_interval_ms; every > 0)
    self->delayed_send(self, std::chrono::milliseconds(every), punctuate_atom::value);
  return {
    [=](batch_atom, const batch_ptr& b) { return self->state.on_batch(b); },
    [=](marker_atom, uint64_t id) { return self->state.on_marker(id); },
    [=](epoch_acked_atom, uint64_t id, int64_t offset) { self->state.on_epoch_acked(id, offset); },
    [=](delivery_failed_atom, const std::string& what) {
      self->quit(caf::make_error(caf::sec::runtime_error,
                                 "task " + self->state.setup.task_id + ": a record could not be delivered: " + what));
    },
    [=](retry_atom) { self->state.on_retry(); },
    [=](resume_atom, const continuation& c) { self->state.on_resume(c); },
    [=](punctuate_atom) { return self->state.on_punctuate(); },
  };
}

} // namespace

caf::actor spawn_operator(caf::event_based_actor* task, operator_setup setup) {
  setup.task = caf::actor_cast<caf::actor>(task);
  return task->spawn<caf::linked>(operator_behavior, std::move(setup));
}

} // namespace sluice
