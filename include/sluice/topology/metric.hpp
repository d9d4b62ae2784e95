// Metric samples in Prometheus' data model: what the runtime and connectors report, what an
// instance's /metrics endpoint renders (docs/operations.md lists every metric).
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace sluice {

/// A counter only goes up (its name ends in `_total`); a gauge goes either way; a histogram's
/// samples are named `<family>_bucket` (with an `le` label), `<family>_sum` and `<family>_count`.
enum class metric_type { counter, gauge, histogram };

/// One sample: a metric family's name, help and type, this sample's labels and value.
struct metric_sample {
  std::string name;                                        ///< e.g. "sluice_records_processed_total"
  std::string help;                                        ///< one line, the same for the family
  metric_type type = metric_type::gauge;                   ///<
  std::vector<std::pair<std::string, std::string>> labels; ///< e.g. {{"task", "0_1"}}
  double value = 0;                                        ///<
};

/// Appends the current samples of something (a connector, a producer) to a scrape.
using metrics_source = std::function<void(std::vector<metric_sample>&)>;

} // namespace sluice
