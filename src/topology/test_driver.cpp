#include <sluice/topology/test_driver.hpp>

#include "state/cache_budget.hpp"
#include "state/in_memory_store.hpp"
#include <sluice/topology/processor.hpp>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>

namespace sluice {

struct topology_test_driver::impl {
  struct node_context;
  topology topo;
  std::string application_id;
  exception_handler handler;
  std::string task_id = "0_0";
  // Window stores cache as in the runtime, with a budget small enough that tests of windowed
  // operators also exercise eviction and reads merging cache and store. Declared before the
  // contexts: the stores release their bytes into it.
  std::shared_ptr<cache_budget> window_cache = std::make_shared<cache_budget>(4096);
  std::vector<std::unique_ptr<processor>> processors;
  std::vector<std::unique_ptr<node_context>> contexts;
  std::vector<std::string> sink_topics;
  std::map<std::string, std::vector<test_output_record>> outputs;
  std::map<std::string, int64_t> next_offset;
  std::set<std::string> topic_names;  // stable storage for record_meta::topic
  std::vector<event_clock> clocks;    // per node
  std::map<int, input_clocks> inputs; // per source node: one input per topic it reads
  size_t piping_input = 0;            // the input of the batch being processed
  int64_t wall_clock = 0;
  size_t batch_size = 1;

  // Records piped and not processed yet: the batch being piped, all of one topic.
  struct piped_record {
    std::string key, value;
    int64_t timestamp;
  };
  std::string piping_topic;
  std::vector<piped_record> piping;

  /// Processes `records` read from `topic` as one consumed batch.
  void process(const std::string& topic, std::vector<piped_record> records);

  /// Processes the batch being piped, if any, and what follows from it.
  void process_piped() {
    if (piping.empty())
      return;
    process(piping_topic, std::exchange(piping, {}));
    settle();
    propagate();
    settle();
  }

  /// Recomputes every node's clock in graph order, calling `advance` where a watermark moved;
  /// a repartition sink's clock reaches the source reading its topic, as announcements do.
  void propagate() {
    const auto& nodes = topo.nodes();
    for (size_t i = 0; i < nodes.size(); ++i) {
      const auto& n = nodes[i];
      event_clock c;
      if (n.kind == node_kind::source) {
        c = inputs.at(static_cast<int>(i)).clock();
      } else {
        std::vector<event_clock> parents;
        for (int p : n.parents)
          parents.push_back(clocks[static_cast<size_t>(p)]);
        c = combine(parents);
      }
      c = successor(clocks[i], c);
      if (c == clocks[i])
        continue;
      const bool advanced = c.watermark > clocks[i].watermark;
      clocks[i] = c;
      if (advanced)
        processors[i]->advance(c.watermark, *contexts[i]);
      if (n.kind == node_kind::sink)
        if (int reader = topo.source_node_of(n.topics.front()); reader >= 0) {
          auto& in = inputs.at(reader);
          in.announce(*in.find(n.topics.front(), 0), watermark_announcement{0, 1, c});
        }
    }
  }

  // Deferred work: continuations come back from other threads and run on the driver's thread.
  std::mutex mutex;
  std::condition_variable resumed;
  std::deque<std::pair<int, continuation>> ready;
  int deferred = 0;

  /// Runs continuations until no deferred work is left.
  void settle() {
    std::unique_lock lock{mutex};
    while (deferred > 0) {
      resumed.wait(lock, [&] { return !ready.empty(); });
      auto [node, c] = std::move(ready.front());
      ready.pop_front();
      --deferred;
      lock.unlock();
      c(*contexts[static_cast<size_t>(node)]);
      lock.lock();
    }
  }

  void dead_letter(const record_meta& meta, std::string key, std::string value, const std::string& error,
                   std::string_view node) {
    test_output_record r{std::move(key), std::move(value), meta.timestamp, {}};
    r.headers[dlq_header::error] = error;
    if (!node.empty())
      r.headers[dlq_header::node] = std::string{node};
    r.headers[dlq_header::source_topic] = meta.topic ? *meta.topic : "";
    r.headers[dlq_header::source_partition] = std::to_string(meta.partition);
    r.headers[dlq_header::source_offset] = std::to_string(meta.offset);
    outputs[dead_letter_topic(application_id)].push_back(std::move(r));
  }

  struct node_context final : processor_context {
    impl* self;
    int node;
    std::unique_ptr<key_value_store> kv;
    std::unique_ptr<window_store> windows;
    node_context(impl* s, int n) : self(s), node(n) {
      const auto& spec = self->topo.nodes()[static_cast<size_t>(n)].store;
      if (!spec)
        return;
      auto store = std::make_unique<in_memory_store>(spec->name);
      if (!spec->windowed) {
        kv = std::move(store);
        return;
      }
      window_store_options options;
      options.retention_ms = spec->retention_ms;
      options.time_from_puts = false; // the operator's watermark drives retention
      options.cache = self->window_cache;
      auto w = window_store::open(std::move(store), options);
      if (!w)
        throw std::logic_error("cannot open window store " + spec->name + ": " + w.error().message);
      windows = std::move(*w);
    }
    key_value_store& key_value_state() override {
      if (!kv)
        throw std::logic_error(self->topo.nodes()[static_cast<size_t>(node)].name + " has no key-value store");
      return *kv;
    }
    window_store& window_state() override {
      if (!windows)
        throw std::logic_error(self->topo.nodes()[static_cast<size_t>(node)].name + " has no window store");
      return *windows;
    }
    void forward(batch_ptr b, int port) override {
      const auto& n = self->topo.nodes()[static_cast<size_t>(node)];
      const auto& children = n.outputs.at(static_cast<size_t>(port));
      for (size_t i = 0; i < children.size(); ++i) {
        // While other children still need the batch, hold a second reference so no child sees
        // it as exclusive (and moves records out of it).
        batch_ptr shared = i + 1 < children.size() ? b : nullptr;
        const auto child = static_cast<size_t>(children[i]);
        self->processors[child]->process(b, *self->contexts[child]);
      }
    }
    int sink_topic(const std::string& topic) override {
      self->sink_topics.push_back(self->topo.resolve_topic(topic));
      return static_cast<int>(self->sink_topics.size() - 1);
    }
    void produce(int topic, std::string_view key, std::string_view value, const record_meta& origin, bool) override {
      const int64_t ts = origin.timestamp;
      const auto& name = self->sink_topics.at(static_cast<size_t>(topic));
      self->outputs[name].push_back({std::string{key}, std::string{value}, ts, {}});
      // Topics the topology reads itself (repartition topics) flow straight back in.
      if (self->topo.source_node_of(name) >= 0)
        self->process(name, {{std::string{key}, std::string{value}, ts}});
    }
    void deserialization_failed(const raw_record& r, const std::exception& e) override {
      if (self->handler == exception_handler::log_and_fail)
        throw stream_error("cannot deserialize record at " + *r.meta.topic + "-" + std::to_string(r.meta.partition) +
                           "@" + std::to_string(r.meta.offset) + ": " + e.what());
      self->dead_letter(r.meta, std::string{r.key}, std::string{r.value}, e.what(), {});
    }
    void processing_failed(const record_meta& meta, std::string_view n, const std::exception& e) override {
      if (self->handler == exception_handler::log_and_fail)
        throw stream_error("processing failed in " + std::string{n} + ": " + e.what());
      self->dead_letter(meta, {}, {}, e.what(), n);
    }
    const std::string& task_id() const override { return self->task_id; }
    int64_t watermark() const override { return self->clocks[static_cast<size_t>(node)].watermark; }
    void observe_event_time(int64_t event_time) override {
      self->inputs.at(node).observe(self->piping_input, event_time);
    }
    void late_record(const record_meta&, std::string_view) override {}
    resume_callback defer() override {
      std::lock_guard lock{self->mutex};
      ++self->deferred;
      return [s = self, n = node](continuation c) {
        std::lock_guard lock{s->mutex};
        s->ready.emplace_back(n, std::move(c));
        s->resumed.notify_one();
      };
    }
  };
};

topology_test_driver::topology_test_driver(const topology& t, std::string application_id, exception_handler handler,
                                           size_t batch_size)
    : impl_(std::make_unique<impl>()) {
  if (batch_size == 0)
    throw std::invalid_argument("topology_test_driver: batch_size must be at least 1");
  impl_->topo = t.with_application_id(application_id);
  impl_->application_id = std::move(application_id);
  impl_->handler = handler;
  impl_->batch_size = batch_size;
  const auto& nodes = impl_->topo.nodes();
  const auto repartition = impl_->topo.repartition_topics();
  impl_->clocks.resize(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    impl_->processors.push_back(nodes[i].make());
    impl_->contexts.push_back(std::make_unique<impl::node_context>(impl_.get(), static_cast<int>(i)));
    if (nodes[i].kind != node_kind::source)
      continue;
    auto& in = impl_->inputs[static_cast<int>(i)];
    for (const auto& t : nodes[i].topics) // nothing to read yet: caught up
      in.caught_up(in.add(t, 0, std::find(repartition.begin(), repartition.end(), t) != repartition.end()), 0);
  }
  for (size_t i = 0; i < nodes.size(); ++i)
    impl_->processors[i]->init(*impl_->contexts[i]);
}

topology_test_driver::~topology_test_driver() = default;

void topology_test_driver::pipe(const std::string& topic, std::string_view key, std::string_view value,
                                int64_t timestamp) {
  auto& d = *impl_;
  const auto resolved = d.topo.resolve_topic(topic);
  if (d.topo.source_node_of(resolved) < 0)
    throw topology_error("no source reads topic '" + resolved + "'");
  if (resolved != d.piping_topic) {
    d.process_piped();
    d.piping_topic = resolved;
  }
  d.piping.push_back({std::string{key}, std::string{value}, timestamp});
  if (d.piping.size() >= d.batch_size)
    d.process_piped();
}

void topology_test_driver::impl::process(const std::string& topic, std::vector<piped_record> records) {
  const int node = topo.source_node_of(topic);
  auto storage = std::make_shared<std::vector<piped_record>>(std::move(records));
  auto b = std::make_shared<raw_batch>();
  b->topic = &*topic_names.insert(topic).first;
  b->partition = 0;
  for (const auto& p : *storage) {
    raw_record r;
    r.key = p.key;
    r.value = p.value;
    r.meta = {p.timestamp, next_offset[topic]++, 0, b->topic};
    b->records.push_back(r);
    b->bytes += static_cast<int64_t>(p.key.size() + p.value.size());
  }
  b->next_offset = next_offset[topic];
  b->storage = storage;
  auto& in = inputs.at(node);
  const auto outer = std::exchange(piping_input, *in.find(topic, 0)); // a repartition topic pipes from within
  const auto input = piping_input;
  in.received(input);
  processors[static_cast<size_t>(node)]->process(b, *contexts[static_cast<size_t>(node)]);
  in.caught_up(input, wall_clock); // everything piped is processed at once
  piping_input = outer;
}

std::vector<test_output_record> topology_test_driver::read_output(const std::string& topic) {
  impl_->process_piped();
  auto it = impl_->outputs.find(impl_->topo.resolve_topic(topic));
  if (it == impl_->outputs.end())
    return {};
  return std::exchange(it->second, {});
}

void topology_test_driver::flush() {
  impl_->process_piped();
  for (size_t i = 0; i < impl_->processors.size(); ++i) {
    impl_->processors[i]->flush(*impl_->contexts[i]);
    if (auto& w = impl_->contexts[i]->windows)
      if (auto r = w->flush(); !r)
        throw std::logic_error("cannot flush window store: " + r.error().message);
  }
  impl_->settle();
}

void topology_test_driver::advance_wall_clock(int64_t now_ms, int64_t idle_timeout_ms) {
  impl_->process_piped();
  impl_->wall_clock = now_ms;
  for (auto& [node, in] : impl_->inputs) {
    for (size_t i = 0; i < in.size(); ++i)
      in.caught_up(i, now_ms); // everything piped is processed: still at the end
    in.detect_idle(now_ms, idle_timeout_ms);
  }
  impl_->propagate();
  impl_->settle();
}

int64_t topology_test_driver::watermark(const std::string& node) const {
  impl_->process_piped();
  const auto& nodes = impl_->topo.nodes();
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].name == node)
      return impl_->clocks[i].watermark;
  throw topology_error("no node named '" + node + "'");
}

} // namespace sluice
