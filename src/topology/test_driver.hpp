// `topology_test_driver`: runs a topology synchronously, without a broker, for tests.
// One task per sub-topology (partition 0); outputs are kept in memory per topic.
#pragma once

#include "topology/errors.hpp"
#include "topology/serdes.hpp"
#include "topology/topology.hpp"

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
  /// Instantiates every node of `t`; dead letters go to "<application_id>-dlq".
  explicit topology_test_driver(const topology& t, std::string application_id = "test",
                                exception_handler handler = exception_handler::log_and_continue);
  ~topology_test_driver();

  /// Processes one serialized record read from `topic` (throws `stream_error` under log_and_fail).
  void pipe(const std::string& topic, std::string_view key, std::string_view value, int64_t timestamp = 0);

  /// Serializes with KS/VS and processes one record.
  template <serde KS, serde VS>
  void pipe(const std::string& topic, const typename KS::value_type& key, const typename VS::value_type& value,
            int64_t timestamp = 0) {
    std::string k, v;
    KS{}.serialize(key, k);
    VS{}.serialize(value, v);
    pipe(topic, k, v, timestamp);
  }

  /// Takes every record written to `topic` so far, oldest first (internal topics by base name).
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

  /// Calls `punctuate(wall_clock_ms)` on every node that asked for wall-clock punctuation.
  void punctuate(int64_t wall_clock_ms);



private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace sluice
