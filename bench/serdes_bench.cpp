// sluice-bench-serdes: per-record cost of the cpu-anomaly work on one thread, split into its steps:
// serdes::json deserialize, the `usage > 80` filter, building the output row, serdes::json serialize,
// and all of them together, so the end-to-end numbers of sluice-bench-throughput can be read
// against the pure CPU cost of a record.

#include "topology/serdes.hpp"

#include <benchmark/benchmark.h>
#include <boost/json.hpp>

#include <charconv>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace {

namespace json = boost::json;

// 4096 readings as sluice-gen's cpu scenario writes them (fixed seed).
const std::vector<std::string>& readings() {
  static const std::vector<std::string> values = [] {
    static const char* hosts[] = {"doc", "grumpy", "sleepy", "bashful", "happy", "sneezy", "dopey"};
    std::mt19937_64 rng(1);
    std::vector<std::string> v;
    for (int i = 0; i < 4096; ++i) {
      const char* host = hosts[rng() % 7];
      const auto cpu = static_cast<int>(1 + rng() % 5);
      const double usage = 70.0 + 30.0 * static_cast<double>(rng() >> 11) * 0x1.0p-53;
      char usage_text[32];
      *std::to_chars(usage_text, usage_text + sizeof(usage_text) - 1, usage).ptr = '\0';
      char value[256];
      std::snprintf(value, sizeof(value), R"({"hostname": "%s", "cpu": "cpu%d", "usage": %s, "occurred_at": %lld})",
                    host, cpu, usage_text, 1700000000000LL + i * 100LL);
      v.emplace_back(value);
    }
    return v;
  }();
  return values;
}

bool over_threshold(const json::value& reading) { return reading.at("usage").to_number<double>() > 80.0; }

json::value to_row(const json::value& reading) {
  const auto& r = reading.as_object();
  return json::value{{"time_ltz", r.at("occurred_at")},
                     {"hostname", r.at("hostname")},
                     {"cpu", r.at("cpu")},
                     {"usage", r.at("usage")}};
}

void bm_deserialize(benchmark::State& state) {
  const auto& in = readings();
  sluice::serdes::json serde;
  size_t i = 0;
  for (auto _ : state) {
    auto v = serde.deserialize(in[i++ & 4095]);
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_deserialize);

void bm_filter(benchmark::State& state) {
  sluice::serdes::json serde;
  std::vector<json::value> parsed;
  for (const auto& r : readings())
    parsed.push_back(serde.deserialize(r));
  size_t i = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(over_threshold(parsed[i++ & 4095]));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_filter);

void bm_map_values(benchmark::State& state) {
  sluice::serdes::json serde;
  std::vector<json::value> parsed;
  for (const auto& r : readings())
    parsed.push_back(serde.deserialize(r));
  size_t i = 0;
  for (auto _ : state) {
    auto row = to_row(parsed[i++ & 4095]);
    benchmark::DoNotOptimize(row);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_map_values);

void bm_serialize(benchmark::State& state) {
  sluice::serdes::json serde;
  std::vector<json::value> rows;
  for (const auto& r : readings())
    rows.push_back(to_row(serde.deserialize(r)));
  std::string out;
  size_t i = 0;
  for (auto _ : state) {
    serde.serialize(rows[i++ & 4095], out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_serialize);

// The whole per-record path of cpu-anomaly: bytes in, bytes out for the ~2/3 that pass.
void bm_deserialize_filter_serialize(benchmark::State& state) {
  const auto& in = readings();
  sluice::serdes::json serde;
  std::string out;
  size_t i = 0, passed = 0;
  for (auto _ : state) {
    const auto v = serde.deserialize(in[i++ & 4095]);
    if (over_threshold(v)) {
      serde.serialize(to_row(v), out);
      benchmark::DoNotOptimize(out.data());
      ++passed;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["passed"] = static_cast<double>(passed) / static_cast<double>(state.iterations());
}
BENCHMARK(bm_deserialize_filter_serialize);

// Reference: Boost.JSON's own parse of the same bytes with a fresh parser per record.
void bm_boost_json_parse(benchmark::State& state) {
  const auto& in = readings();
  size_t i = 0;
  for (auto _ : state) {
    auto v = json::parse(in[i++ & 4095]);
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_boost_json_parse);

} // namespace

BENCHMARK_MAIN();
