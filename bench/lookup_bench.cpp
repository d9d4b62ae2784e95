// lookup_bench: throughput of the PostgreSQL lookup join (postgres_lookup_source, the processor
// stream.lookup_join makes) against a throwaway PostgreSQL 15 cluster on this machine.
//
// One task's processor is fed batches the way an operator actor feeds it (process, then the
// deferred continuation), one batch in flight at a time, as the runtime does. Scenarios:
//   warm cache   every key cached (TTL 60 s): the join never asks PostgreSQL
//   cold cache   cache disabled (cache_max_rows 0): one `= ANY($1)` query per batch
//   cold, batch 1  cache disabled, one record per batch: one query per record (the unbatched cost)
// Prints records/s, queries/s, and the bench process's CPU utilisation (user + system over wall
// time, getrusage; PostgreSQL's own processes are not counted) and records per CPU-second, per
// scenario. It uses no Kafka broker, so it has no --rtt-ms. Not part of ctest.
//
//   lookup_bench [--records N] [--batch N] [--hosts N]

#include "batch_harness.hpp"
#include "bench_support.hpp"
#include <sluice/connectors/postgres/lookup_join.hpp>
#include "pg_cluster.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

namespace json = boost::json;
using clock_type = std::chrono::steady_clock;
using record_t = sluice::record<std::string, json::value>;
using batch_t = sluice::record_batch<std::string, json::value>;

namespace {

struct settings {
  long records = 200000;
  long batch = 500;
  long hosts = 1000;
};

struct figures {
  long records = 0;
  long joined = 0;
  double seconds = 0;
  double cpu_seconds = 0;
  std::uint64_t queries = 0;
};

std::vector<std::shared_ptr<batch_t>> make_batches(long records, long batch, long hosts, std::uint32_t seed) {
  std::mt19937 rng{seed};
  std::uniform_int_distribution<long> pick{0, hosts - 1};
  std::vector<std::shared_ptr<batch_t>> out;
  for (long i = 0; i < records;) {
    auto b = std::make_shared<batch_t>();
    for (long j = 0; j < batch && i < records; ++j, ++i) {
      auto host = "host-" + std::to_string(pick(rng));
      b->records.push_back(
        record_t{host, json::value{{"hostname", host}, {"cpu", j % 8}, {"usage_avg", 50.5}}, {i, i, 0, nullptr}});
    }
    out.push_back(std::move(b));
  }
  return out;
}

figures run(const sluice::postgres_lookup_options& options, const std::vector<std::shared_ptr<batch_t>>& batches,
            bool prewarm) {
  sluice::postgres_lookup_source source{options};
  auto proc = source.make_processor<std::string, json::value>(sluice::json_field_key("hostname"), sluice::merge_row,
                                                              sluice::join_kind::inner, "bench-join");
  sluice::test::batch_harness ctx;
  auto feed = [&](const std::shared_ptr<batch_t>& b) {
    proc->process(b, ctx);
    if (!ctx.run_deferred(std::chrono::seconds{60})) {
      std::fprintf(stderr, "lookup_bench: a batch did not complete within 60 s\n");
      std::exit(1);
    }
  };
  if (prewarm)
    for (const auto& b : batches)
      feed(b);
  ctx.forwarded.clear();
  const auto queries_before = source.metrics().lookup.queries;
  figures f;
  const auto t0 = clock_type::now();
  const auto cpu0 = sluice::bench::cpu_seconds();
  for (const auto& b : batches) {
    feed(b);
    f.records += static_cast<long>(b->records.size());
  }
  f.seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  f.cpu_seconds = sluice::bench::cpu_seconds() - cpu0;
  for (const auto& out : ctx.forwarded)
    f.joined += static_cast<long>(static_cast<const batch_t&>(*out).records.size());
  f.queries = source.metrics().lookup.queries - queries_before;
  return f;
}

void print(const char* name, const figures& f) {
  std::printf("%-22s records=%-8ld joined=%-8ld seconds=%-8.3f records/s=%-10.0f queries=%-7llu queries/s=%-8.0f "
              "cpu=%.0f%% records/cpu-s=%.0f\n",
              name, f.records, f.joined, f.seconds, f.records / f.seconds, static_cast<unsigned long long>(f.queries),
              static_cast<double>(f.queries) / f.seconds, 100 * f.cpu_seconds / f.seconds,
              static_cast<double>(f.records) / f.cpu_seconds);
}

} // namespace

int main(int argc, char** argv) {
  settings s;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    long value = std::atol(argv[i + 1]);
    if (flag == "--records")
      s.records = value;
    else if (flag == "--batch")
      s.batch = value;
    else if (flag == "--hosts")
      s.hosts = value;
    else {
      std::fprintf(stderr, "usage: lookup_bench [--records N] [--batch N] [--hosts N]\n");
      return 2;
    }
  }
  spdlog::set_level(spdlog::level::warn);
  sluice::test::pg_cluster_options pg_options;
  pg_options.log_statements = false; // statement logging would dominate the cold figures
  sluice::test::pg_cluster pg{pg_options};
  pg.exec("CREATE TABLE cpu_thresholds (hostname text PRIMARY KEY, allowed_top integer NOT NULL);"
          "INSERT INTO cpu_thresholds SELECT 'host-' || i, 20 + i % 70 FROM generate_series(0, " +
          std::to_string(s.hosts - 1) + ") i; ANALYZE cpu_thresholds;");

  sluice::postgres_lookup_options o;
  o.conninfo = pg.conninfo();
  o.table = "cpu_thresholds";
  o.key_column = "hostname";
  std::printf("lookup_bench: %ld records, batches of %ld, %ld distinct hosts, PostgreSQL 15 on 127.0.0.1:%d\n",
              s.records, s.batch, s.hosts, pg.port());

  auto warm = o;
  warm.cache_max_rows = static_cast<std::size_t>(s.hosts);
  warm.cache_ttl = std::chrono::seconds{60};
  print("warm cache", run(warm, make_batches(s.records, s.batch, s.hosts, 1), true));

  auto cold = o;
  cold.cache_max_rows = 0;
  const long cold_records = std::max(s.batch, s.records / 4);
  print("cold cache", run(cold, make_batches(cold_records, s.batch, s.hosts, 2), false));

  const long single_records = std::min(5000L, s.records);
  print("cold cache, batch 1", run(cold, make_batches(single_records, 1, s.hosts, 3), false));
  return 0;
}
