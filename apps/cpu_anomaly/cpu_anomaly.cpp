#include "cpu_anomaly.hpp"

#include <sluice/topology/stream.hpp>

namespace sluice::apps {

namespace json = boost::json;

namespace {

using reading_stream = stream<json::value, json::value>;

// SELECT occurred_at AS time_ltz, hostname, cpu, usage FROM cpu_load_stats_real WHERE usage > 80
// On the readings' text: `usage` read from it, the row written from the fields' text (no
// document built, no heap allocation per record).
void build_filter(const stream<json_text, json_text>& readings, const cpu_anomaly_topics& topics) {
  readings
    .filter([](const json_text& reading) { return reading.number("usage") > cpu_usage_threshold; }, "usage-over-80")
    .map_values(
      [](const json_text& reading) {
        const auto [at, hostname, cpu, usage] = reading.raw_fields({"occurred_at", "hostname", "cpu", "usage"});
        return json_text::object({{"time_ltz", at}, {"hostname", hostname}, {"cpu", cpu}, {"usage", usage}},
                                 reading.storage());
      },
      "to-filter-row")
    .to(topics.filtered, "filtered-sink");
}

// SELECT window_start, window_end, hostname, cpu, AVG(usage), MAX(usage)
// FROM TABLE(TUMBLE(TABLE CPU_IN, DESCRIPTOR(time_ltz), INTERVAL '30' SECONDS))
// GROUP BY window_start, window_end, hostname, cpu
reading_stream build_aggregation(const stream<json_text, json::value>& readings, const cpu_anomaly_topics& topics,
                                 const cpu_anomaly_options& options) {
  auto stats = readings
                 .group_by(
                   [](const json_text&, const json::value& r) {
                     return json::value{{"hostname", r.at("hostname")}, {"cpu", r.at("cpu")}};
                   },
                   "by-host-cpu")
                 .windowed_by(tumbling(options.window).grace(options.grace).emit_final())
                 .agg({agg::mean("usage", "usage_avg"), agg::max("usage", "usage_max")}, "usage-30s")
                 .to_rows("usage-30s-rows")
                 .map_values(
                   [](const json::value& row) {
                     const auto& r = row.as_object();
                     return json::value{{"window_start", r.at("window_start")}, {"window_end", r.at("window_end")},
                                        {"hostname", r.at("hostname")},         {"cpu", r.at("cpu")},
                                        {"usage_avg", r.at("usage_avg")},       {"usage_max", r.at("usage_max")}};
                   },
                   "to-agg-row");
  stats.to(topics.aggregated, "agg-sink");
  return stats;
}

// SELECT ... FROM CPU_IN_AGG CPU INNER JOIN CPU_THRESHOLDS FOR SYSTEM_TIME AS OF proctime AS ST
// ON CPU.hostname = ST.hostname WHERE usage_avg > allowed_top
void build_thresholds(const reading_stream& stats, const cpu_anomaly_topics& topics,
                      const cpu_thresholds_stage& stage) {
  auto over =
    stats.lookup_join(stage.thresholds, json_field_key("hostname"), merge_row, join_kind::inner, "cpu-thresholds")
      .filter(
        [](const json::value& v) {
          const auto& top = v.at("allowed_top");
          return !top.is_null() && v.at("usage_avg").to_number<double>() > top.to_number<double>();
        },
        "over-threshold")
      .map_values(
        [](const json::value& v) {
          const auto& r = v.as_object();
          return json::value{{"window_start", r.at("window_start")}, {"window_end", r.at("window_end")},
                             {"hostname", r.at("hostname")},         {"cpu", r.at("cpu")},
                             {"usage_avg", r.at("usage_avg")},       {"allowed_top", r.at("allowed_top")}};
        },
        "to-alert-row");
  over.to(topics.alerts, "alerts-sink");
  stage.target.send(over, "cpu-anomaly", cpu_alert_text, "threshold-alert");
}

} // namespace

postgres_lookup_options cpu_thresholds_lookup(std::string conninfo, std::string table) {
  postgres_lookup_options o;
  o.conninfo = std::move(conninfo);
  o.table = std::move(table);
  o.key_column = "hostname";
  o.columns = {"hostname", "allowed_top"};
  return o;
}

void build_cpu_anomaly(topology_builder& builder, const cpu_anomaly_topics& topics,
                       const cpu_anomaly_options& options) {
  if (!options.aggregate) { // the first pipeline alone, on the Kafka record time (it needs no event time)
    build_filter(builder.stream<serdes::json_text, serdes::json_text>(topics.readings), topics);
    return;
  }
  // Event time = occurred_at (the tutorial's time_ltz); a reading without it is dead-lettered.
  auto readings = builder.stream<serdes::json_text, serdes::json_text>(
    topics.readings, consumed<json_text>{timestamps::json_field_ms<json_text>("occurred_at"), false, "readings"});
  build_filter(readings, topics);
  // The aggregation reads every field of every reading: parsed once, into the batch's arena.
  auto values = readings.map_values([](const json_text& reading) { return reading.to_value(); }, "readings-as-json");
  auto stats = build_aggregation(values, topics, options);
  if (options.thresholds)
    build_thresholds(stats, topics, *options.thresholds);
}

} // namespace sluice::apps
