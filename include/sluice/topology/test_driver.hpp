// `topology_test_driver`: runs a topology synchronously, without a broker, for tests.
// One task per sub-topology (partition 0); outputs are kept in memory per topic. Event time is
// the runtime's: each source topic is an input whose watermark is the largest event time piped
// into it, repartition topics carry their writer's watermark, and windows close by the
// combination (docs/windowing.md). Piped records are processed in batches of up to `batch_size`
// consecutive records of one topic, as the runtime processes a consumed batch: event time and
// watermarks move after the batch, not after each record. What a sink writes to an internal topic
// (repartition, alerts) is read back at once, as partition 0 at offsets counted from 0 per topic,
// so the n-th alert of `alert(sink, "x")` has the id "<app>-x-alerts-0-<n>".
#pragma once

#include <sluice/topology/errors.hpp>
#include <sluice/topology/serdes.hpp>
#include <sluice/topology/topology.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sluice {

/// A record written to an output topic.
struct test_output_record {
  std::string key;
  std::string value;
  int64_t timestamp = 0;
  std::map<std::string, std::string> headers;
};

/// Feeds records into a topology and collects what it writes. Deterministic; not thread-safe.
class topology_test_driver {
public:
  /// Instantiates every node of `t`; dead letters go to "<application_id>-dlq"; piped records are
  /// processed in batches of up to `batch_size` (1: each record on its own).
  explicit topology_test_driver(const topology& t, std::string application_id = "test",
                                exception_handler handler = exception_handler::log_and_continue, size_t batch_size = 1);
  ~topology_test_driver();

  /// Adds one serialized record read from `topic` to the batch being piped, and processes that
  /// batch once it holds `batch_size` records or when a record of another topic comes (throws
  /// `stream_error` under log_and_fail, from the call that processes the batch).
  void pipe(const std::string& topic, std::string_view key, std::string_view value, int64_t timestamp = 0);

  /// Serializes with KS/VS and pipes one record.
  template <serde KS, serde VS>
  void pipe(const std::string& topic, const typename KS::value_type& key, const typename VS::value_type& value,
            int64_t timestamp = 0) {
    std::string k, v;
    KS{}.serialize(key, k);
    VS{}.serialize(value, v);
    pipe(topic, k, v, timestamp);
  }

  /// Processes the batch being piped, then takes every record written to `topic` so far, oldest
  /// first (internal topics by base name). `flush`, `advance_wall_clock` and `watermark` also
  /// process the batch being piped first.
  std::vector<test_output_record> read_output(const std::string& topic);

  /// Takes every record written to `topic` so far, deserialized with KS/VS.
  template <serde KS, serde VS>
  std::vector<std::pair<typename KS::value_type, typename VS::value_type>> read_output(const std::string& topic) {
    std::vector<std::pair<typename KS::value_type, typename VS::value_type>> out;
    KS ks;
    VS vs;
    for (auto& r : read_output(topic))
      out.emplace_back(ks.deserialize(r.key), vs.deserialize(r.value));
    return out;
  }

  /// Calls every processor's `flush`, as a commit would.
  void flush();

  /// Moves the driver's wall clock (0 at the start) to `now_ms`: a source topic that received
  /// nothing for `idle_timeout_ms` becomes idle and stops holding the watermark back, as the
  /// runtime's `idle.timeout.ms` makes it.
  void advance_wall_clock(int64_t now_ms, int64_t idle_timeout_ms);

  /// The watermark of node `name` now (`no_watermark` before any).
  int64_t watermark(const std::string& node) const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace sluice
