#include "actors/task_actor.hpp"

#include "actors/messages.hpp"
#include "actors/operator_actor.hpp"
#include "actors/task_stores.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <map>

namespace sluice {

std::string task_name(int subtopology, int32_t partition) {
  return std::to_string(subtopology) + "_" + std::to_string(partition);
}

namespace {

struct task_state {
  static inline const char* name = "task";

  std::string id;
  topology topo;
  int sub = 0;
  int32_t partition = 0;
  record_collector* collector = nullptr;
  const streams_config* config = nullptr;
  std::shared_ptr<std::atomic<bool>> stop = std::make_shared<std::atomic<bool>>(false);
  bool restoring = true;
  std::map<std::string, caf::actor> sources;                // topic -> source operator
  size_t operator_count = 0;
  std::map<std::pair<std::string, int32_t>, int64_t> next; // position per source partition
  uint64_t next_marker = 1;
  struct pending_marker {
    size_t remaining;
    source_offsets offsets;
    caf::response_promise promise;
  };
  std::map<uint64_t, pending_marker> markers;

  ~task_state() { *stop = true; } // an unfinished restore gives up

  source_offsets positions() const {
    source_offsets out;
    for (const auto& [tp, offset] : next)
      out.push_back({tp.first, tp.second, offset});
    return out;
  }

  // Children first, so each operator knows its children's actors when it starts.
  void spawn_operators(caf::event_based_actor* self, std::shared_ptr<task_stores> stores) {
    const auto& nodes = topo.nodes();
    const auto& order = topo.subtopologies()[static_cast<size_t>(sub)].nodes;
    std::map<int, caf::actor> actors;
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
      operator_setup setup{topo, *it, id, partition, {}, {}, collector, config, stores};
      for (const auto& port : nodes[static_cast<size_t>(*it)].outputs) {
        setup.ports.emplace_back();
        for (int child : port)
          setup.ports.back().push_back(actors.at(child));
      }
      auto a = spawn_operator(self, std::move(setup));
      actors.emplace(*it, a);
      if (nodes[static_cast<size_t>(*it)].kind == node_kind::source)
        for (const auto& t : nodes[static_cast<size_t>(*it)].topics)
          sources.emplace(t, a);
    }
    operator_count = actors.size();
    restoring = false;
    spdlog::debug("task {} running with {} operators", id, operator_count);
  }
};

using task_actor_t = caf::stateful_actor<task_state>*;

caf::behavior task_behavior(task_actor_t self, topology topo, int sub, int32_t partition, record_collector* collector,
                            const streams_config* config) {
  auto& st = self->state;
  st.id = task_name(sub, partition);
  st.topo = std::move(topo);
  st.sub = sub;
  st.partition = partition;
  st.collector = collector;
  st.config = config;
  // Stores are opened and restored on a thread of their own; batches wait in the mailbox
  // (their credit keeps the partition paused), commits report nothing processed yet.
  auto me = caf::actor_cast<caf::actor>(self);
  self->spawn<caf::detached>([me, t = st.topo, sub, partition, config, stop = st.stop](caf::event_based_actor* r) {
    try {
      auto stores = open_task_stores(t, sub, partition, *config, *stop);
      if (stores)
        r->send(me, resume_atom::value, std::move(stores));
    } catch (const std::exception& e) {
      spdlog::error("task {}: {}", task_name(sub, partition), e.what());
      r->send_exit(me, caf::make_error(caf::sec::runtime_error, std::string{e.what()}));
    }
    r->quit();
  });
  return {
    [=](resume_atom, std::shared_ptr<task_stores>& stores) { self->state.spawn_operators(self, std::move(stores)); },
    [=](batch_atom, const batch_ptr& b) -> caf::result<void> {
      auto& st = self->state;
      if (st.restoring)
        return caf::skip;
      const auto& raw = static_cast<const raw_batch&>(*b);
      if (raw.records.empty())
        return caf::unit;
      const auto& last = raw.records.back().meta;
      st.next[{*last.topic, last.partition}] = last.offset + 1;
      self->send(st.sources.at(*last.topic), batch_atom::value, b);
      return caf::unit;
    },
    [=](commit_atom) -> caf::result<source_offsets> {
      auto& st = self->state;
      if (st.restoring)
        return source_offsets{}; // nothing processed yet
      auto id = st.next_marker++;
      auto& m = st.markers[id];
      m.remaining = st.operator_count;
      m.offsets = st.positions();
      m.promise = self->make_response_promise();
      for (const auto& [topic, source] : st.sources)
        self->send(source, marker_atom::value, id);
      return m.promise;
    },
    [=](marker_done_atom, int, uint64_t id) {
      auto it = self->state.markers.find(id);
      if (it == self->state.markers.end() || --it->second.remaining > 0)
        return;
      it->second.promise.deliver(std::move(it->second.offsets));
      self->state.markers.erase(it);
    },
    [=](revoke_atom, const std::string& topic, int32_t p) { self->state.next.erase({topic, p}); },
  };
}

} // namespace

caf::actor spawn_task(caf::actor_system& sys, topology topo, int subtopology, int32_t partition,
                      record_collector* collector, const streams_config* config) {
  return sys.spawn(task_behavior, std::move(topo), subtopology, partition, collector, config);
}

} // namespace sluice
