// sluice-bench-serdes: per-record cost of the cpu-anomaly work on one thread, split into its steps:
// serdes::json deserialize, the `usage > 80` filter, building the output row, serdes::json serialize,
// and all of them together, so the end-to-end numbers of sluice-bench-throughput can be read
// against the pure CPU cost of a record.

#include <sluice/topology/json_arena.hpp>
#include <sluice/topology/serdes.hpp>

#include <benchmark/benchmark.h>
#include <boost/json.hpp>
#ifdef SLUICE_BENCH_SIMDJSON
#include <simdjson.h>
#endif

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
  return json::value{
    {"time_ltz", r.at("occurred_at")}, {"hostname", r.at("hostname")}, {"cpu", r.at("cpu")}, {"usage", r.at("usage")}};
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

// The same path as sluice's source operators run it: the values of 4096 records in one json_arena
// and the row built in the reading's storage (no heap allocation per record).
void bm_deserialize_filter_serialize_arena(benchmark::State& state) {
  const auto& in = readings();
  sluice::serdes::json serde;
  std::string out;
  size_t i = 0, passed = 0;
  boost::json::storage_ptr arena;
  for (auto _ : state) {
    if ((i & 4095) == 0)
      arena = sluice::make_json_arena(4096 * 100); // a batch
    const auto v = serde.deserialize(in[i++ & 4095], arena);
    if (over_threshold(v)) {
      const auto& r = v.as_object();
      json::object row(4, v.storage());
      row.emplace("time_ltz", r.at("occurred_at"));
      row.emplace("hostname", r.at("hostname"));
      row.emplace("cpu", r.at("cpu"));
      row.emplace("usage", r.at("usage"));
      serde.serialize(json::value(std::move(row)), out);
      benchmark::DoNotOptimize(out.data());
      ++passed;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["passed"] = static_cast<double>(passed) / static_cast<double>(state.iterations());
}
BENCHMARK(bm_deserialize_filter_serialize_arena);

// The same path on sluice::json_text, as cpu-anomaly's filter runs it: each text checked and
// copied into the batch's arena, `usage` read from the text, the row written from the fields' text.
void bm_json_text_filter_serialize(benchmark::State& state) {
  const auto& in = readings();
  sluice::serdes::json_text serde;
  std::string out;
  size_t i = 0, passed = 0;
  boost::json::storage_ptr arena;
  for (auto _ : state) {
    if ((i & 4095) == 0)
      arena = sluice::make_json_arena(4096 * 100); // a batch
    const auto v = serde.deserialize(in[i++ & 4095], arena);
    if (v.number("usage") > 80) {
      const auto [at, host, cpu, usage] = v.raw_fields({"occurred_at", "hostname", "cpu", "usage"});
      serde.serialize(
        sluice::json_text::object({{"time_ltz", at}, {"hostname", host}, {"cpu", cpu}, {"usage", usage}}, v.storage()),
        out);
      benchmark::DoNotOptimize(out.data());
      ++passed;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["passed"] = static_cast<double>(passed) / static_cast<double>(state.iterations());
}
BENCHMARK(bm_json_text_filter_serialize);

#ifdef SLUICE_BENCH_SIMDJSON
// simdjson's On-Demand API: fields read straight from the text, no document built. Inputs carry
// simdjson's padding so nothing is copied.
const std::vector<std::string>& padded_readings() {
  static const std::vector<std::string> padded = [] {
    std::vector<std::string> v;
    for (const auto& r : readings()) {
      std::string s;
      s.reserve(r.size() + simdjson::SIMDJSON_PADDING);
      s = r;
      v.push_back(std::move(s));
    }
    return v;
  }();
  return padded;
}

std::string_view token(simdjson::ondemand::value v) {
  auto t = std::string_view(v.raw_json_token());
  while (!t.empty() && (t.back() == ' ' || t.back() == '\n' || t.back() == '\t' || t.back() == '\r'))
    t.remove_suffix(1);
  return t;
}

// The filter alone: `usage > 80` on the bytes.
void bm_simdjson_filter(benchmark::State& state) {
  const auto& in = padded_readings();
  simdjson::ondemand::parser parser;
  size_t i = 0;
  for (auto _ : state) {
    const auto& r = in[i++ & 4095];
    auto doc = parser.iterate(simdjson::padded_string_view(r.data(), r.size(), r.capacity()));
    benchmark::DoNotOptimize(double(doc["usage"]) > 80.0);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_simdjson_filter);

// Checking a record is well-formed JSON with simdjson's DOM parser (what a text-keeping serde
// must do once per record so that bad input is caught where it enters).
void bm_simdjson_validate(benchmark::State& state) {
  const auto& in = padded_readings();
  simdjson::dom::parser parser;
  size_t i = 0;
  for (auto _ : state) {
    const auto& r = in[i++ & 4095];
    benchmark::DoNotOptimize(parser.parse(r.data(), r.size(), false).error());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_simdjson_validate);

// The whole path on simdjson: filter, then the row written from the fields' raw text (numbers and
// strings pass through unchanged, as they would through sluice).
void bm_simdjson_filter_serialize(benchmark::State& state) {
  const auto& in = padded_readings();
  simdjson::ondemand::parser parser;
  std::string out;
  size_t i = 0, passed = 0;
  for (auto _ : state) {
    const auto& r = in[i++ & 4095];
    auto doc = parser.iterate(simdjson::padded_string_view(r.data(), r.size(), r.capacity()));
    auto object = doc.get_object();
    const auto hostname = token(object["hostname"]);
    const auto cpu = token(object["cpu"]);
    auto usage_value = object["usage"].value();
    const auto usage = token(usage_value);
    if (double(usage_value) <= 80.0) // the token stays valid: the text is not consumed
      continue;
    const auto occurred_at = token(object["occurred_at"]);
    out.clear();
    out.append(R"({"time_ltz":)").append(occurred_at).append(R"(,"hostname":)").append(hostname);
    out.append(R"(,"cpu":)").append(cpu).append(R"(,"usage":)").append(usage).push_back('}');
    benchmark::DoNotOptimize(out.data());
    ++passed;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["passed"] = static_cast<double>(passed) / static_cast<double>(state.iterations());
}
BENCHMARK(bm_simdjson_filter_serialize);
#endif

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
