#include "actors/operator_actor.hpp"

#include "actors/messages.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <limits>
#include <map>

namespace sluice {

namespace {

using namespace std::chrono_literals;

/// Milliseconds of a clock that never jumps (idleness and throttling, never event time).
int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

/// Epoch milliseconds now (timestamps of announcements, which carry no event time of their own).
int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// Watermark announcements of one repartition sink go out at most this often (and at every commit).
constexpr int64_t announce_interval_ms = 200;

/// Late records are reported in the log at most this often per operator.
constexpr int64_t late_report_interval_ms = 5000;

/// The inputs of source node `n` in the task of `partition`, restored from the last commit;
/// `report`: say in the log when a restored state is unreadable.
input_clocks make_inputs(const topology& topo, const topology_node& n, int32_t partition,
                         const std::map<std::pair<std::string, int32_t>, std::string>& restored, bool report) {
  const auto repartition = topo.repartition_topics();
  input_clocks inputs;
  for (const auto& t : n.topics) {
    const bool announced = std::find(repartition.begin(), repartition.end(), t) != repartition.end();
    const auto i = inputs.add(t, partition, announced);
    if (auto it = restored.find({t, partition});
        it != restored.end() && !it->second.empty() &&
        !inputs.restore(i, std::string_view{it->second}.substr(0, it->second.find(' '))) && report)
      spdlog::warn("{}-{}: unreadable watermark state '{}' in the committed metadata; starting without it", t,
                   partition, it->second);
  }
  return inputs;
}

/// A record the full producer queue refused, kept (with its bytes) until it can be enqueued.
struct refused_record {
  rd_kafka_topic_t* topic;
  std::string key, value;
  record_collector::outgoing r;
};

struct operator_state;
using operator_actor_t = operator_actor::stateful_pointer<operator_state>;

struct operator_state : processor_context {
  static inline const char* name = "operator";

  operator_actor_t self = nullptr;
  operator_setup setup;
  const topology_node* node = nullptr;
  std::unique_ptr<processor> proc;
  std::shared_ptr<operator_metrics> metrics;
  std::shared_ptr<store_replica> replica; // this node's store, for interactive queries
  node_store* store = nullptr;            // this node's store, if it declared one
  rd_kafka_topic_t* changelog = nullptr;  // the store's changelog topic
  delivery_epoch* epoch = nullptr;        // records produced since the last marker
  uint64_t generation = 0;                // the collector's when this task started
  // Exactly-once: after passing a marker the operator goes on processing but holds what it
  // produces until the transaction of that marker ended (txn_done_atom) or the next marker comes
  // (its round begins only once the previous transaction ended); checkpoints wait for commits.
  bool exactly_once = false;
  uint64_t sealed_at = 0; // the marker whose transaction this operator's outputs wait for; 0: none
  struct held_output {
    rd_kafka_topic_t* topic;
    size_t key_at, value_at;
    record_collector::outgoing r; // key and value point into held_bytes once released
  };
  std::vector<held_output> held;
  std::string held_bytes; // keys and values of `held`, one buffer reused (no allocation per record)
  std::map<uint64_t, uint64_t> writes_at_marker; // marker -> the store's writes when it passed
  struct pending_checkpoint {
    int64_t offset;   // the store's last changelog offset in the marker's epoch
    uint64_t covered; // the store's writes when the marker passed
  };
  std::map<uint64_t, pending_checkpoint> uncommitted_checkpoints; // marker -> its checkpoint, once committed
  std::vector<rd_kafka_topic_t*> topics;                          // sink topics by handle
  rd_kafka_topic_t* dlq = nullptr;
  std::deque<refused_record> refused;
  std::map<uint64_t, size_t> markers_seen; // marker id -> parents it arrived from
  std::vector<uint64_t> markers_to_pass;   // complete markers waiting for earlier work
  int deferred = 0;                        // deferred batches not resumed yet
  // Event time (docs/architecture.md): this node's clock never moves back.
  event_clock clock;
  std::vector<event_clock> parent_clocks; // by position in node->parents
  input_clocks inputs;                    // source nodes: one per topic read
  std::vector<origin_filter> origins;     // source nodes: records already seen, by input
  size_t current_input = 0;               // source nodes: the input of the batch in process()
  // Repartition sinks announce this node's clock to every partition of their topic.
  rd_kafka_topic_t* announce_topic = nullptr;
  int32_t announce_partitions = 0;
  int32_t writers = 0;                                // tasks writing the topic (this sub-topology's)
  std::string origin_value;                           // a repartition record's value with its origin
  std::map<const std::string*, int32_t> source_index; // source topic -> index in source_topics()
  record_meta last_origin;                            // the previous record's, for ordinals
  int32_t ordinal = 0;
  std::optional<event_clock> announced;
  bool announce_pending = false;
  int64_t last_announce_ms = 0;
  // Late records, reported in the log with counts.
  uint64_t late_unreported = 0, late_total = 0;
  int64_t last_late_report_ms = std::numeric_limits<int64_t>::min() / 2;
  record_meta latest_late;

  ~operator_state() override {
    if (epoch)
      epoch->close(0); // nobody waits for it any more
    for (auto& r : refused)
      if (r.r.headers)
        rd_kafka_headers_destroy(r.r.headers);
    for (auto& h : held)
      if (h.r.headers)
        rd_kafka_headers_destroy(h.r.headers);
  }

  void init(operator_actor_t s, operator_setup st) {
    self = s;
    setup = std::move(st);
    node = &setup.topo.nodes()[static_cast<size_t>(setup.node)];
    metrics = setup.metrics ? setup.metrics->add_operator(setup.task_id, node->name)
                            : std::make_shared<operator_metrics>(setup.task_id, node->name);
    if (auto it = setup.stores->by_node.find(setup.node); it != setup.stores->by_node.end()) {
      store = &it->second;
      if (setup.metrics)
        register_store();
      changelog = setup.collector->topic(store->changelog_topic);
      store->changelog->sink = [this](std::string_view key, std::optional<std::string_view> value, int64_t) {
        ++store->writes;
        bump(metrics->changelog_records);
        record_collector::outgoing r;
        r.key = key;
        r.value = value.value_or(std::string_view{});
        r.value_is_null = !value;
        r.timestamp = 0; // now, not the event time: retention.ms counts from the write (operations.md)
        r.partition = setup.partition;
        send(changelog, r);
      };
    }
    exactly_once = setup.collector->transactional(); // a task outside the transaction commits at least once
    generation = setup.collector->generation();
    epoch = new_epoch();
    if (store) { // before anything else: the committed state of what the changelog holds past it
      for (const auto& [key, value] : store->compensation)
        store->changelog->append(key, value ? std::optional<std::string_view>{*value} : std::nullopt, wall_ms());
      store->compensation.clear();
    }
    dlq = setup.collector->topic(dead_letter_topic(setup.config->application_id));
    init_clocks();
    proc = node->make();
    proc->init(*this);
  }

  // Queries come from the HTTP thread, which waits for the answer (never a scheduler thread).
  void register_store() {
    replica = std::make_shared<store_replica>();
    replica->store = node->store->name;
    replica->task = setup.task_id;
    replica->windowed = node->store->windowed;
    replica->view = node->store->view;
    replica->query = [weak = caf::actor_cast<caf::weak_actor_ptr>(self),
                      sys = &self->system()](const store_query& q) -> std::optional<std::string> {
      auto owner = caf::actor_cast<operator_actor>(weak);
      if (!owner)
        return std::nullopt;
      caf::scoped_actor asker{*sys};
      std::optional<std::string> answer;
      asker->request(owner, 10s, query_atom::value, q)
        .receive([&](std::string& json) { answer = std::move(json); }, [](const caf::error&) {});
      return answer;
    };
    setup.metrics->add_store(replica);
  }

  std::string answer(const store_query& q) {
    const auto* view = node->store->view.get();
    return store->windows ? query_window_store(*store->windows, view, q)
                          : query_key_value_store(*store->key_value, view, q);
  }

  void init_clocks() {
    const auto& restored = setup.restored_clocks;
    auto restored_of = [&](int id) { return restored.empty() ? event_clock{} : restored[static_cast<size_t>(id)]; };
    clock = restored_of(setup.node);
    metrics->watermark.store(clock.watermark, std::memory_order_relaxed);
    if (node->kind == node_kind::source) {
      inputs = make_inputs(setup.topo, *node, setup.partition, setup.restored_inputs, true);
      origins.resize(inputs.size());
      for (size_t i = 0; i < inputs.size(); ++i) {
        auto [topic, partition] = inputs.name_of(i);
        auto it = setup.restored_inputs.find({topic, partition});
        if (it == setup.restored_inputs.end())
          continue;
        if (auto space = it->second.find(' ');
            space != std::string::npos && !origins[i].restore(std::string_view{it->second}.substr(space + 1)))
          spdlog::warn("{}-{}: unreadable record positions in the committed metadata; records a restarted writer "
                       "writes again may be counted twice",
                       topic, partition);
      }
    }
    for (int p : node->parents)
      parent_clocks.push_back(restored_of(p));
    if (node->kind != node_kind::sink)
      return;
    const auto& topic = node->topics.front();
    const auto repartition = setup.topo.repartition_topics();
    if (std::find(repartition.begin(), repartition.end(), topic) == repartition.end())
      return;
    announce_topic = setup.collector->topic(topic);
    announce_partitions = partitions_of(topic);
    for (const auto& t : setup.topo.subtopologies()[static_cast<size_t>(node->subtopology)].source_topics)
      writers = std::max(writers, partitions_of(t));
    if (announce_partitions <= 0 || writers <= 0)
      throw stream_error("task " + setup.task_id + ": partition counts of " + topic +
                         " and of its writers' sources are unknown; cannot announce watermarks");
  }

  int32_t partitions_of(const std::string& topic) const {
    if (!setup.partitions)
      return 0;
    auto it = setup.partitions->find(topic);
    return it == setup.partitions->end() ? 0 : it->second;
  }

  size_t parent_count() const { return node->kind == node_kind::source ? 1 : node->parents.size(); }

  /// True while earlier work must finish before the next batch or marker may run.
  bool held_back() const { return !refused.empty() || deferred > 0; }

  // processor_context

  void forward(batch_ptr b, int port) override {
    bump(metrics->records_out, static_cast<int64_t>(b->size()));
    for (const auto& child : setup.ports[static_cast<size_t>(port)])
      self->send(child, batch_atom::value, b);
  }

  int sink_topic(const std::string& topic) override {
    if (setup.config->guarantee == processing_guarantee::exactly_once && !setup.collector->transactional())
      throw topology_error("node " + node->name + " writes to " + topic +
                           " but its sub-topology was taken to write "
                           "no records (topology::writes_records), so it commits outside the transaction");
    topics.push_back(setup.collector->topic(setup.topo.resolve_topic(topic)));
    return static_cast<int>(topics.size() - 1);
  }

  void produce(int topic, std::string_view key, std::string_view value, const record_meta& origin,
               bool key_is_null) override {
    record_collector::outgoing r;
    r.key = key;
    r.value = value;
    r.timestamp = origin.timestamp;
    if (announce_topic && topics[static_cast<size_t>(topic)] == announce_topic) {
      encode_origin(origin_of(origin), value, origin_value);
      r.value = origin_value;
    }
    bump(metrics->records_produced);
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
    bump(metrics->dead_letters);
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
    bump(metrics->dead_letters);
    send(dlq, out);
  }

  const std::string& task_id() const override { return setup.task_id; }

  void alert_sent(std::string_view text) override {
    if (setup.metrics)
      setup.metrics->alert_sent(node->name, text);
  }

  int64_t watermark() const override { return clock.watermark; }

  void observe_event_time(int64_t event_time) override { inputs.observe(current_input, event_time); }

  void late_record(const record_meta& meta, std::string_view) override {
    ++late_unreported;
    ++late_total;
    bump(metrics->late_records);
    latest_late = meta;
    if (steady_ms() - last_late_report_ms >= late_report_interval_ms)
      report_late();
  }

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
    return [me = caf::actor_cast<operator_actor>(self)](continuation c) {
      caf::anon_send(me, resume_atom::value, std::move(c));
    };
  }

  // handlers

  caf::result<void> on_batch(const batch_ptr& b) {
    if (held_back())
      return caf::skip;
    bump(metrics->records_in, static_cast<int64_t>(b->size()));
    if (node->kind != node_kind::source) {
      proc->process(b, *this);
      return caf::unit;
    }
    // A source: the batch moves the clock of the partition it came from, after its records.
    const auto& raw = static_cast<const raw_batch&>(*b);
    auto input = inputs.find(*raw.topic, raw.partition);
    if (!input)
      throw stream_error("task " + setup.task_id + ": " + node->name + " got a batch of " + *raw.topic + "-" +
                         std::to_string(raw.partition) + ", which it does not read");
    current_input = *input;
    inputs.received(*input);
    if (clock.idle && !inputs.clock().idle)
      move_clock(inputs.clock()); // active again before these records: downstream stops counting it idle
    if (auto fresh = admitted(raw, origins[*input]))
      proc->process(fresh, *this);
    else if (!raw.records.empty())
      proc->process(b, *this);
    for (const auto& a : raw.announcements)
      inputs.announce(*input, a);
    move_clock(inputs.clock());
    return caf::unit;
  }

  caf::result<void> on_watermark(int parent, int64_t watermark, bool idle) {
    if (held_back())
      return caf::skip;
    for (size_t k = 0; k < node->parents.size(); ++k)
      if (node->parents[k] == parent)
        parent_clocks[k] = {watermark, idle};
    move_clock(combine(parent_clocks));
    return caf::unit;
  }

  void on_eof(const std::string& topic, int32_t partition) {
    if (auto input = inputs.find(topic, partition))
      inputs.caught_up(*input, steady_ms());
  }

  void on_tick() {
    if (node->kind == node_kind::source && inputs.detect_idle(steady_ms(), setup.config->idle_timeout_ms))
      move_clock(inputs.clock());
    // A repartition sink renews its idleness's lease (see idle_lease_ms).
    if (announce_topic && clock.idle &&
        steady_ms() - last_announce_ms >= confirmation_interval_ms(setup.config->idle_timeout_ms))
      announce(true);
  }

  void on_announce() {
    announce_pending = false;
    announce(false);
  }

  void on_transaction_done(bool committed, uint64_t marker) {
    if (committed && store) { // the store now reflects committed changelog offsets up to `marker`'s
      auto end = uncommitted_checkpoints.upper_bound(marker);
      if (end != uncommitted_checkpoints.begin())
        store->checkpoint(std::prev(end)->second.offset, std::prev(end)->second.covered);
      uncommitted_checkpoints.erase(uncommitted_checkpoints.begin(), end);
    }
    if (sealed_at != 0 && sealed_at <= marker)
      release_held();
  }

  caf::result<void> on_marker(uint64_t id) {
    if (held_back())
      return caf::skip;
    if (sealed_at != 0)
      release_held(); // the transaction it waited for has ended: what it holds belongs to this marker's
    if (++markers_seen[id] < parent_count())
      return caf::unit;
    markers_seen.erase(id);
    proc->flush(*this);
    if (store) {
      store->flush(); // its changelog records join this epoch
      writes_at_marker[id] = store->writes;
    }
    for (size_t i = 0; i < inputs.size(); ++i) {
      auto [topic, partition] = inputs.name_of(i);
      self->send(setup.task, input_state_atom::value, id, topic, partition, inputs.save(i) + ' ' + origins[i].save());
    }
    if (announce_topic)
      announce(true); // a restarted reader hears every writer within a commit interval
    if (late_unreported > 0)
      report_late();
    markers_to_pass.push_back(id);
    pass_markers();
    return caf::unit;
  }

  void on_epoch_acked(uint64_t id, int64_t changelog_offset) {
    if (id == 0)
      return;
    uint64_t covered = 0;
    if (auto it = writes_at_marker.find(id); it != writes_at_marker.end()) {
      covered = it->second;
      writes_at_marker.erase(writes_at_marker.begin(), std::next(it));
    }
    if (store && changelog_offset >= 0) {
      if (exactly_once)
        uncommitted_checkpoints[id] = {changelog_offset, covered}; // a checkpoint only ever names a committed offset
      else
        store->checkpoint(changelog_offset, covered);
    }
    self->send(setup.task, marker_done_atom::value, setup.node, id, store ? changelog_offset : int64_t{-1});
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
      auto* closing = std::exchange(epoch, new_epoch());
      closing->close(id);
    }
    if (exactly_once && !markers_to_pass.empty())
      sealed_at = markers_to_pass.back();
    markers_to_pass.clear();
  }

  // Sends what was held since sealed_at, in order, into the current epoch.
  void release_held() {
    sealed_at = 0;
    for (auto& h : held) {
      h.r.key = std::string_view{held_bytes}.substr(h.key_at, h.r.key.size());
      h.r.value = std::string_view{held_bytes}.substr(h.value_at, h.r.value.size());
      send(h.topic, h.r);
    }
    held.clear();
    held_bytes.clear();
  }

  delivery_epoch* new_epoch() {
    return new delivery_epoch{caf::actor_cast<operator_actor>(self), changelog, generation};
  }

  // The source position of a record written to a repartition topic; records made from one
  // source record are numbered in order.
  record_origin origin_of(const record_meta& m) {
    record_origin o;
    if (!m.topic || m.offset < 0)
      return o;
    auto [it, fresh] = source_index.try_emplace(m.topic, -1);
    if (fresh) {
      const auto sources = setup.topo.source_topics();
      if (auto at = std::find(sources.begin(), sources.end(), *m.topic); at != sources.end())
        it->second = static_cast<int32_t>(at - sources.begin());
    }
    ordinal = m.topic == last_origin.topic && m.partition == last_origin.partition && m.offset == last_origin.offset
                ? ordinal + 1
                : 0;
    last_origin = m;
    return {it->second, m.partition, m.offset, ordinal};
  }

  // `raw` without the records `filter` has seen before (a restarted writer's repeats); null if
  // none was dropped.
  static std::shared_ptr<raw_batch> admitted(const raw_batch& raw, origin_filter& filter) {
    size_t kept = 0;
    std::vector<bool> keep(raw.records.size());
    for (size_t i = 0; i < raw.records.size(); ++i)
      kept += (keep[i] = filter.admit(raw.records[i].origin));
    if (kept == raw.records.size())
      return nullptr;
    auto out = std::make_shared<raw_batch>(raw);
    out->records.clear();
    for (size_t i = 0; i < raw.records.size(); ++i)
      if (keep[i])
        out->records.push_back(raw.records[i]);
    spdlog::info("{}-{}: dropped {} record(s) written again by a restarted writer", *raw.topic, raw.partition,
                 raw.records.size() - kept);
    return out;
  }

  // The clock moves to `c` (its watermark never back): processors hear of an advance, children
  // of any change, after everything this node forwarded before.
  void move_clock(event_clock c) {
    c = successor(clock, c);
    if (c == clock)
      return;
    const bool advanced = c.watermark > clock.watermark;
    clock = c;
    metrics->watermark.store(clock.watermark, std::memory_order_relaxed);
    if (advanced)
      proc->advance(clock.watermark, *this);
    for (const auto& port : setup.ports)
      for (const auto& child : port)
        self->send(child, watermark_atom::value, setup.node, clock.watermark, clock.idle);
    if (announce_topic)
      announce(false);
  }

  // Tells every partition of the repartition topic this task's clock, after the records sent
  // before (same producer, same partition: the order holds). Throttled unless `force`.
  void announce(bool force) {
    if (!force && announced == clock)
      return;
    const auto now = steady_ms();
    // Turning active goes out at once: readers must stop counting this task as idle before its records come.
    force |= announced && announced->idle && !clock.idle;
    if (!force && announced && now - last_announce_ms < announce_interval_ms) {
      if (!announce_pending) {
        announce_pending = true;
        self->delayed_send(self, std::chrono::milliseconds(announce_interval_ms - (now - last_announce_ms)),
                           announce_atom::value);
      }
      return;
    }
    announced = clock;
    last_announce_ms = now;
    const auto lease = clock.idle ? idle_lease_ms(setup.config->idle_timeout_ms) : 0;
    const auto text = encode_announcement({setup.partition, writers, clock, lease});
    for (int32_t p = 0; p < announce_partitions; ++p) {
      record_collector::outgoing r;
      r.key_is_null = true;
      r.value_is_null = true;
      r.partition = p;
      r.timestamp = wall_ms();
      r.headers = rd_kafka_headers_new(1);
      rd_kafka_header_add(r.headers, watermark_header.data(), static_cast<ssize_t>(watermark_header.size()),
                          text.data(), static_cast<ssize_t>(text.size()));
      send(announce_topic, r);
    }
  }

  void report_late() {
    const auto where = (latest_late.topic ? *latest_late.topic : std::string{"?"}) + "-" +
                       std::to_string(latest_late.partition) + "@" + std::to_string(latest_late.offset);
    spdlog::warn("task {}: {}: {} late record(s) ({} in all) came after every window they belong to had closed "
                 "(watermark {}, the latest at event time {} from {}); they are not aggregated",
                 setup.task_id, node->name, late_unreported, late_total, clock.watermark, latest_late.timestamp, where);
    late_unreported = 0;
    last_late_report_ms = steady_ms();
  }

  void send(rd_kafka_topic_t* topic, const record_collector::outgoing& r) {
    if (sealed_at != 0) {
      held.push_back({topic, held_bytes.size(), held_bytes.size() + r.key.size(), r});
      held_bytes.append(r.key).append(r.value);
      return;
    }
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

operator_actor::behavior_type operator_behavior(operator_actor_t self, operator_setup setup) {
  self->set_exception_handler([](caf::scheduled_actor*, std::exception_ptr& e) -> caf::error {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      return to_caf_error({errc::processing_failed, x.what()});
    } catch (...) {
      return to_caf_error({errc::processing_failed, "unknown exception"});
    }
  });
  self->state.init(self, std::move(setup));
  const auto idle_timeout = self->state.setup.config->idle_timeout_ms;
  const auto tick_every = std::chrono::milliseconds(std::clamp<int64_t>(idle_timeout / 4, 50, 1000));
  const bool ticks = (self->state.node->kind == node_kind::source || self->state.announce_topic) && idle_timeout >= 0;
  if (ticks)
    self->delayed_send(self, tick_every, tick_atom::value);
  return {
    [=](batch_atom, const batch_ptr& b) { return self->state.on_batch(b); },
    [=](watermark_atom, int parent, int64_t watermark, bool idle) {
      return self->state.on_watermark(parent, watermark, idle);
    },
    [=](eof_atom, const std::string& topic, int32_t partition) { self->state.on_eof(topic, partition); },
    [=](tick_atom) {
      self->state.on_tick();
      self->delayed_send(self, tick_every, tick_atom::value);
    },
    [=](announce_atom) { self->state.on_announce(); },
    [=](txn_done_atom, bool committed, uint64_t marker) { self->state.on_transaction_done(committed, marker); },
    [=](marker_atom, uint64_t id) { return self->state.on_marker(id); },
    [=](epoch_acked_atom, uint64_t id, int64_t offset) { self->state.on_epoch_acked(id, offset); },
    [=](delivery_failed_atom, const std::string& what) {
      self->quit(to_caf_error(
        {errc::kafka_failed, "task " + self->state.setup.task_id + ": a record could not be delivered: " + what}));
    },
    [=](retry_atom) { self->state.on_retry(); },
    [=](resume_atom, const continuation& c) { self->state.on_resume(c); },
    [=](query_atom, const store_query& q) -> caf::result<std::string> {
      try {
        return self->state.answer(q);
      } catch (const std::exception& e) { // a bad query fails the query, not the task
        return to_caf_error({errc::invalid_argument, e.what()});
      }
    },
  };
}

} // namespace

std::vector<event_clock> restored_clocks(const topology& topo, int sub, int32_t partition,
                                         const std::map<std::pair<std::string, int32_t>, std::string>& inputs) {
  std::vector<event_clock> out(topo.nodes().size());
  for (int id : topo.subtopologies()[static_cast<size_t>(sub)].nodes) { // parents first
    const auto& n = topo.nodes()[static_cast<size_t>(id)];
    if (n.kind == node_kind::source) {
      out[static_cast<size_t>(id)] = make_inputs(topo, n, partition, inputs, false).clock();
      continue;
    }
    std::vector<event_clock> parents;
    for (int p : n.parents)
      parents.push_back(out[static_cast<size_t>(p)]);
    out[static_cast<size_t>(id)] = combine(parents);
  }
  return out;
}

operator_actor spawn_operator(caf::local_actor* parent, operator_setup setup) {
  return parent->spawn<caf::linked>(operator_behavior, std::move(setup));
}

} // namespace sluice
