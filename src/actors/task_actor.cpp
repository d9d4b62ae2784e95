#include "actors/task_actor.hpp"

#include "actors/commit_metadata.hpp"
#include "actors/messages.hpp"
#include "actors/operator_actor.hpp"
#include "actors/task_stores.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <deque>
#include <map>
#include <optional>
#include <string_view>

namespace sluice {

std::string task_name(int subtopology, int32_t partition) {
  return std::to_string(subtopology) + "_" + std::to_string(partition);
}

namespace {

constexpr size_t metadata_limit = 4000; // brokers keep up to offset.metadata.max.bytes, 4096 by default

struct task_state {
  static inline const char* name = "task";

  std::string id;
  topology topo;
  int sub = 0;
  int32_t partition = 0;
  record_collector* collector = nullptr;
  const streams_config* config = nullptr;
  const std::map<std::string, int32_t>* partitions = nullptr;
  committed_state committed;
  std::map<std::string, int64_t> changelogs; // store -> last changelog offset, as of the last marker
  std::shared_ptr<std::atomic<bool>> stop = std::make_shared<std::atomic<bool>>(false);
  instance_metrics* instance = nullptr;
  std::shared_ptr<task_metrics> metrics; // restore progress, running
  bool restoring = true;
  std::map<std::string, operator_actor> sources; // topic -> source operator
  std::vector<operator_actor> operators;
  size_t operator_count = 0;
  std::map<std::pair<std::string, int32_t>, int64_t> next; // position per source partition
  // With several source partitions, batches wait here and go to the sources in the order of
  // their first record's timestamp, as Kafka Streams' partition group picks records: the next
  // one comes from the input with the lowest head timestamp, once every input has a batch or
  // is caught up (a null entry marks the end of partition).
  struct input_queue {
    std::deque<batch_ptr> batches;
    bool caught_up = false;
  };
  std::map<std::pair<std::string, int32_t>, input_queue> queues;
  uint64_t next_marker = 1;
  uint64_t last_answered = 0; // the last marker whose offsets went to the group member
  struct pending_marker {
    size_t remaining;
    source_offsets offsets;
    caf::typed_response_promise<source_offsets> promise;
    std::map<std::pair<std::string, int32_t>, std::string> inputs; // input states at the marker
    std::map<std::string, int64_t> changelogs;                     // changelog positions it acked
  };
  std::map<uint64_t, pending_marker> markers;

  ~task_state() { *stop = true; } // an unfinished restore gives up

  using self_pointer = task_actor::stateful_pointer<task_state>;

  /// Hands a batch to its source.
  void release(self_pointer self, const batch_ptr& b) {
    const auto& raw = static_cast<const raw_batch&>(*b);
    next[{*raw.topic, raw.partition}] = raw.next_offset;
    self->send(sources.at(*raw.topic), batch_atom::value, b);
  }

  /// Releases queued batches in head-timestamp order while no input with unknown data remains.
  void drain(self_pointer self) {
    for (;;) {
      input_queue* best = nullptr;
      int64_t best_ts = 0;
      for (auto& [tp, q] : queues) {
        while (!q.batches.empty() && !q.batches.front()) { // end of partition
          q.batches.pop_front();
          q.caught_up = true;
          self->send(sources.at(tp.first), eof_atom::value, tp.first, tp.second);
        }
        if (q.batches.empty()) {
          if (!q.caught_up)
            return; // it may have older records on the way
          continue;
        }
        const auto& raw = static_cast<const raw_batch&>(*q.batches.front());
        const int64_t ts = raw.records.empty() ? no_watermark : raw.records.front().meta.timestamp;
        if (!best || ts < best_ts) {
          best = &q;
          best_ts = ts;
        }
      }
      if (!best)
        return;
      release(self, best->batches.front());
      best->batches.pop_front();
    }
  }

  source_offsets positions() const {
    source_offsets out;
    for (const auto& [tp, offset] : next)
      out.push_back({tp.first, tp.second, offset, {}});
    return out;
  }

  // Children first, so each operator knows its children's actors when it starts.
  void spawn_operators(self_pointer self, std::shared_ptr<task_stores> stores) {
    const auto& nodes = topo.nodes();
    const auto& order = topo.subtopologies()[static_cast<size_t>(sub)].nodes;
    std::map<int, operator_actor> actors;
    const auto clocks = restored_clocks(topo, sub, partition, committed.inputs);
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
      operator_setup setup{topo,
                           *it,
                           id,
                           partition,
                           {},
                           caf::actor_cast<task_actor>(self),
                           collector,
                           config,
                           stores,
                           partitions,
                           committed.inputs,
                           clocks,
                           instance};
      for (const auto& port : nodes[static_cast<size_t>(*it)].outputs) {
        setup.ports.emplace_back();
        for (int child : port)
          setup.ports.back().push_back(actors.at(child));
      }
      auto a = spawn_operator(self, std::move(setup));
      actors.emplace(*it, a);
      operators.push_back(a);
      if (nodes[static_cast<size_t>(*it)].kind == node_kind::source)
        for (const auto& t : nodes[static_cast<size_t>(*it)].topics)
          sources.emplace(t, a);
    }
    operator_count = actors.size();
    restoring = false;
    metrics->running = true;
    spdlog::debug("task {} running with {} operators", id, operator_count);
  }
};

using task_actor_t = task_state::self_pointer;

/// Opens and restores the task's stores on a thread of their own; batches wait in the mailbox
/// (their credit keeps the partition held), commits report nothing processed yet. The task hears
/// (resume_atom, stores) when they are ready, or exits with the error.
void restore_stores(task_actor_t self, const std::shared_ptr<const store_resources>& shared) {
  auto& st = self->state;
  const auto sub = st.sub;
  const auto partition = st.partition;
  const auto* config = st.config;
  auto me = caf::actor_cast<task_actor>(self);
  // `me` goes in as an argument: CAF 0.17 dereferences a null argument tuple for actors spawned
  // without arguments (undefined behaviour that UBSan stops at).
  self->spawn<caf::detached>(
    [t = st.topo, sub, partition, config, shared, stop = st.stop, positions = st.committed.changelogs,
     progress = st.metrics](caf::event_based_actor* r, const task_actor& me) {
      try {
        auto stores = open_task_stores(t, sub, partition, *config, *shared, positions, *stop, *progress);
        if (stores)
          r->send(me, resume_atom::value, std::move(stores));
      } catch (const std::exception& e) {
        spdlog::error("task {}: {}", task_name(sub, partition), e.what());
        r->send_exit(me, to_caf_error({errc::processing_failed, e.what()}));
      }
      r->quit();
    },
    me);
}

task_actor::behavior_type
task_behavior(task_actor_t self, topology topo, int sub, int32_t partition, record_collector* collector,
              const streams_config* config, std::shared_ptr<const store_resources> shared,
              const std::map<std::string, int32_t>* partitions, const committed_metadata& committed,
              const std::vector<std::pair<std::string, int32_t>>& inputs, instance_metrics* metrics) {
  auto& st = self->state;
  for (const auto& tp : inputs)
    st.queues[tp];
  st.id = task_name(sub, partition);
  st.topo = std::move(topo);
  st.sub = sub;
  st.partition = partition;
  st.collector = collector;
  st.config = config;
  st.partitions = partitions;
  st.instance = metrics;
  st.metrics = metrics->add_task(st.id);
  st.committed = decode_metadata(committed);
  if (st.committed.changelogs)
    st.changelogs = *st.committed.changelogs;
  if (st.topo.has_stores(sub))
    restore_stores(self, shared);
  else
    st.spawn_operators(self, std::make_shared<task_stores>()); // nothing to restore
  return {
    [=](resume_atom, std::shared_ptr<task_stores>& stores) { self->state.spawn_operators(self, std::move(stores)); },
    [=](batch_atom, const batch_ptr& b) -> caf::result<void> {
      auto& st = self->state;
      if (st.restoring)
        return caf::skip;
      if (st.queues.size() <= 1) {
        st.release(self, b);
        return caf::unit;
      }
      const auto& raw = static_cast<const raw_batch&>(*b);
      auto& q = st.queues[{*raw.topic, raw.partition}];
      q.batches.push_back(b);
      q.caught_up = false;
      st.drain(self);
      return caf::unit;
    },
    [=](eof_atom, const std::string& topic, int32_t p) -> caf::result<void> {
      auto& st = self->state;
      if (st.restoring)
        return caf::skip; // after the batches before it
      if (st.queues.size() <= 1) {
        self->send(st.sources.at(topic), eof_atom::value, topic, p);
        return caf::unit;
      }
      st.queues[{topic, p}].batches.push_back(nullptr);
      st.drain(self);
      return caf::unit;
    },
    [=](still_caught_up_atom, const std::string& topic, int32_t p) {
      auto& st = self->state;
      if (st.restoring)
        return; // the end of partition waiting behind the restore confirms it afresh
      if (st.queues.size() > 1)
        if (auto it = st.queues.find({topic, p});
            it == st.queues.end() || !it->second.caught_up || !it->second.batches.empty())
          return; // records came since
      self->send(st.sources.at(topic), eof_atom::value, topic, p);
    },
    [=](input_state_atom, uint64_t id, const std::string& topic, int32_t p, std::string& state) {
      if (auto it = self->state.markers.find(id); it != self->state.markers.end())
        it->second.inputs[{topic, p}] = std::move(state);
    },
    [=](commit_atom) -> caf::result<source_offsets> {
      auto& st = self->state;
      if (st.restoring)
        return source_offsets{}; // nothing processed yet
      auto id = st.next_marker++;
      auto& m = st.markers[id];
      m.remaining = st.operator_count;
      m.offsets = st.positions();
      m.promise = self->make_response_promise<source_offsets>();
      for (const auto& [topic, source] : st.sources)
        self->send(source, marker_atom::value, id);
      return m.promise;
    },
    [=](marker_done_atom, int node, uint64_t id, int64_t changelog_offset) {
      auto& st = self->state;
      auto it = st.markers.find(id);
      if (it == st.markers.end())
        return;
      auto& m = it->second;
      if (changelog_offset >= 0)
        m.changelogs[st.topo.nodes()[static_cast<size_t>(node)].store->name] = changelog_offset;
      if (--m.remaining > 0)
        return;
      for (const auto& [store, offset] : m.changelogs)
        st.changelogs[store] = offset;
      for (auto& o : m.offsets) {
        o.metadata = encode_metadata(m.inputs[{o.topic, o.partition}], st.changelogs);
        if (o.metadata.size() > metadata_limit) {
          spdlog::warn("task {}: commit metadata of {}-{} is {} bytes; committing without it (a restart then "
                       "re-learns watermarks and restores stores to the end of their changelogs)",
                       st.id, o.topic, o.partition, o.metadata.size());
          o.metadata.clear();
        }
      }
      m.promise.deliver(std::move(m.offsets));
      st.last_answered = id;
      st.markers.erase(it);
    },
    [=](txn_done_atom, bool committed) {
      for (const auto& op : self->state.operators)
        self->send(op, txn_done_atom::value, committed, self->state.last_answered);
    },
    [=](revoke_atom, const std::string& topic, int32_t p) {
      auto& st = self->state;
      st.next.erase({topic, p});
      if (st.queues.erase({topic, p}) > 0 && !st.restoring)
        st.drain(self);
    },
  };
}

} // namespace

task_actor spawn_task(caf::actor_system& sys, topology topo, int subtopology, int32_t partition,
                      record_collector* collector, const streams_config* config,
                      std::shared_ptr<const store_resources> shared, const std::map<std::string, int32_t>* partitions,
                      const committed_metadata& committed, const std::vector<std::pair<std::string, int32_t>>& inputs,
                      instance_metrics* metrics) {
  return sys.spawn(task_behavior, std::move(topo), subtopology, partition, collector, config, std::move(shared),
                   partitions, committed, inputs, metrics);
}

} // namespace sluice
