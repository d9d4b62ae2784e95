// The processor interface: the per-task logic of one topology node. The runtime wraps each
// processor in an operator actor; the test driver calls it synchronously. Apps do not implement
// processors directly: the DSL creates them.
#pragma once

#include <sluice/state/key_value_store.hpp>
#include <sluice/state/window_store.hpp>
#include <sluice/topology/errors.hpp>
#include <sluice/topology/event_time.hpp>
#include <sluice/topology/record.hpp>

#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace sluice {

/// A message header (name, value) attached to produced records.
struct header {
  std::string_view name;
  std::string_view value;
};

class processor_context;

/// Work that finishes a deferred batch on the processor's own thread.
using continuation = std::function<void(processor_context&)>;

/// Hands the continuation back; callable once, from any thread.
using resume_callback = std::function<void(continuation)>;

/// What a processor can do besides computing: forward batches, write records, report bad ones.
class processor_context {
public:
  virtual ~processor_context() = default;

  /// Sends `b` to every child attached to output `port` (0 unless the node has several outputs).
  virtual void forward(batch_ptr b, int port = 0) = 0;

  /// Returns a handle for producing to `topic`; call from `processor::init`.
  virtual int sink_topic(const std::string& topic) = 0;

  /// Writes one record to a topic registered with `sink_topic`, stamped `origin.timestamp`; the
  /// bytes are copied. `origin` is the record it was made from (its source position lets readers
  /// of a repartition topic drop what a restarted writer writes again). The record counts as
  /// processed only once the broker has acknowledged it.
  virtual void produce(int topic, std::string_view key, std::string_view value, const record_meta& origin,
                       bool key_is_null = false) = 0;

  /// Handles a record that could not be deserialized: dead-letters it or fails the task,
  /// as `default.deserialization.exception.handler` says.
  virtual void deserialization_failed(const raw_record& r, const std::exception& error) = 0;

  /// Handles a record whose processing threw: dead-letters its position or fails the task,
  /// as `default.processing.exception.handler` says.
  virtual void processing_failed(const record_meta& meta, std::string_view node, const std::exception& error) = 0;

  /// Counts a record of node `node` that arrived after every window it belongs to closed, and
  /// warns about late records in the log (at most every few seconds, with counts).
  virtual void late_record(const record_meta& meta, std::string_view node) = 0;

  /// Alert sinks tell the instance each alert they send (its text, or its fields as JSON): the
  /// live page shows the latest.
  virtual void alert_sent(std::string_view /*text*/) {}

  /// The task this processor belongs to, e.g. "0_3" (sub-topology 0, partition 3).
  virtual const std::string& task_id() const = 0;

  /// The key-value store this node declared (`topology_node::store`); restored before the first
  /// batch, changelogged. Throws std::logic_error if the node declared none.
  virtual key_value_store& key_value_state() = 0;

  /// The window store this node declared; as `key_value_state`.
  virtual window_store& window_state() = 0;

  /// This node's watermark: no record older than it is expected any more (`no_watermark` before
  /// anything is known). Restored from the last commit before the first batch; moves forward
  /// between batches, and `processor::advance` is called when it does.
  virtual int64_t watermark() const = 0;

  /// Source processors report the event time of each record they forward: it moves the clock of
  /// the partition the batch came from.
  virtual void observe_event_time(int64_t event_time) = 0;

  /// For blocking or remote work (database lookups, HTTP calls) done elsewhere: holds back this
  /// node's next batches and markers, in order, until the returned callback is called with the
  /// continuation that completes the work (forwarding results, producing).
  virtual resume_callback defer() = 0;
};

/// The logic of one node for one task. Called from one thread at a time.
class processor {
public:
  virtual ~processor() = default;

  /// Called once before the first batch.
  virtual void init(processor_context&) {}

  /// Processes one batch and forwards results through `ctx`.
  virtual void process(const batch_ptr& in, processor_context& ctx) = 0;

  /// Called when a commit marker passes: write out anything buffered (stores are flushed after).
  virtual void flush(processor_context&) {}

  /// Called when the watermark has moved forward to `watermark` (also `ctx.watermark()`), after
  /// every batch that came before it: windows that it closes are emitted now.
  virtual void advance(int64_t /*watermark*/, processor_context&) {}
};

/// Applies `fn` to each record of `in`, reporting a throwing record to `ctx` and going on;
/// a `production_error` (an output that could not be written) is no bad record: it propagates.
template <class Batch, class F>
void for_each_record(Batch& in, processor_context& ctx, std::string_view node, F&& fn) {
  for (auto& r : in.records) {
    try {
      fn(r);
    } catch (const production_error&) {
      throw;
    } catch (const std::exception& e) {
      ctx.processing_failed(r.meta, node, e);
    }
  }
}

} // namespace sluice
