// sluice-bench-failover: how long the tasks of an instance that goes away take to run again on the
// other instance, with and without a standby replica (num.standby.replicas=1) there.
//
// The embedded broker holds --records distinct keys over --partitions partitions (produced once). Per
// run, two instances A and B of a count-per-key app (one key-value store entry and one changelog
// record per key) start together with a fresh application.id and empty state directories, share
// the partitions and process everything; with a standby, B also follows A's stores. Once every
// record is processed and committed (and B's standbys have caught up), A closes; the figure is the
// time from A's close to B running every task (its /health ready), and the part of it from B's
// assignment of every task to running them (the restore), with the changelog records B restored
// for A's tasks. Runs alternate without and with a standby; the ratio of the medians is
// printed. Both instances live in this process, so the figures are times and records, not RSS.

#include "bench_support.hpp"
#include "embedded_broker.hpp"
#include <sluice/sluice.hpp>

#include "actors/http_server.hpp"

#include <CLI/CLI.hpp>
#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using namespace std::chrono;
using namespace std::chrono_literals;
using namespace sluice::bench;

struct options {
  std::int64_t records = 2'000'000;
  int partitions = 16;
  int repeat = 2;
  std::string input = "failover_bench";
};

/// The sum of every sample of `name` whose labels contain `label` (e.g. `task="0_3"`; "" for any).
double metric(const std::string& text, const std::string& name, const std::string& label = "") {
  double sum = 0;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with(name) || (line.size() > name.size() && line[name.size()] != '{' && line[name.size()] != ' '))
      continue;
    if (!label.empty() && line.find(label) == std::string::npos)
      continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

/// "localhost:1234" of an instance's "http://localhost:1234/".
std::string server_of(const sluice::kafka_streams& s) {
  auto a = s.http_address().substr(std::string_view{"http://"}.size());
  return a.substr(0, a.size() - 1);
}

std::string scrape(const sluice::kafka_streams& s, const std::string& path = "/metrics") {
  return sluice::http_get(server_of(s), path, 10s).body;
}

/// Waits for `condition`, checking every 20 ms; throws after `timeout`.
template <class Condition>
void wait_for(Condition condition, seconds timeout, const std::string& what) {
  const auto deadline = steady_clock::now() + timeout;
  while (!condition()) {
    if (steady_clock::now() > deadline)
      throw std::runtime_error("timed out waiting for " + what);
    std::this_thread::sleep_for(20ms);
  }
}

void produce(const std::string& bootstrap, const options& o) {
  rd_kafka_t* rk = make_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap},
                                                   {"compression.type", "lz4"},
                                                   {"linger.ms", "100"},
                                                   {"batch.num.messages", "100000"},
                                                   {"queue.buffering.max.messages", "1000000"}});
  char key[32];
  for (std::int64_t i = 0; i < o.records; ++i) {
    const int n = std::snprintf(key, sizeof(key), "key-%09lld", static_cast<long long>(i));
    const auto partition = static_cast<int32_t>(i % o.partitions);
    sluice::bench::produce(rk, o.input, partition, {key, static_cast<size_t>(n)}, {key, 1});
  }
  check(rd_kafka_flush(rk, 120000), "flush");
  rd_kafka_destroy(rk);
}

struct failover {
  double seconds = 0;   ///< from A's close to B running every task
  double restoring = 0; ///< of which from B's assignment of every task to running them (the rest: the rebalance)
  double restored = 0;  ///< changelog records B restored for A's tasks
  double changelog = 0; ///< changelog records of A's tasks
};

failover run(sluice::embedded_broker& broker, const options& o, int standbys, int run_index) {
  const auto app = "failover-" + std::to_string(getpid()) + "-" + std::to_string(run_index);
  const auto& bootstrap = broker.bootstrap_servers();
  broker.create_topic(app + "-counts-store-changelog", o.partitions); // the embedded broker would make 4
  const auto dir = std::filesystem::temp_directory_path() / app;
  std::filesystem::remove_all(dir);
  auto config = [&](const std::string& name) {
    sluice::streams_config c;
    c.application_id = app;
    c.bootstrap_servers = bootstrap;
    c.state_dir = (dir / name).string();
    c.commit_interval_ms = 1000;
    c.set("application.server", "localhost:0");
    c.set("num.standby.replicas", std::to_string(standbys));
    c.set("log.level", "warn");
    return c;
  };
  auto topology = [&] {
    sluice::topology_builder b;
    b.stream<sluice::serdes::string, sluice::serdes::string>(o.input).group_by_key().count("counts");
    return b.build();
  };
  sluice::kafka_streams a{topology(), config("a")}, b{topology(), config("b")};
  a.start();
  b.start();
  // Everything processed and committed by both, in tasks shared between them; B's standbys current.
  std::set<std::string> tasks_of_a;
  wait_for(
    [&] {
      const auto ma = scrape(a), mb = scrape(b);
      tasks_of_a.clear();
      for (int p = 0; p < o.partitions; ++p)
        if (metric(ma, "sluice_task_running", "task=\"0_" + std::to_string(p) + "\"") == 1)
          tasks_of_a.insert("0_" + std::to_string(p));
      const bool split = !tasks_of_a.empty() && a.assigned_partitions() + b.assigned_partitions() == o.partitions &&
                         b.assigned_partitions() > 0;
      const bool processed = a.records_processed() + b.records_processed() >= o.records &&
                             metric(ma, "sluice_consumer_lag_records") == 0 &&
                             metric(mb, "sluice_consumer_lag_records") == 0;
      const bool warm =
        standbys == 0 || (metric(mb, "sluice_standby_tasks") == static_cast<double>(tasks_of_a.size()) &&
                          metric(mb, "sluice_standby_lag_records") == 0);
      return split && processed && warm;
    },
    600s, "both instances to process the input");
  // The group's committed offsets at the end of every input partition: A's last commit carries its
  // stores' final changelog positions, which B's standbys follow.
  rd_kafka_t* probe = make_client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap}, {"group.id", app}});
  wait_for(
    [&] {
      auto* list = rd_kafka_topic_partition_list_new(o.partitions);
      for (int p = 0; p < o.partitions; ++p)
        rd_kafka_topic_partition_list_add(list, o.input.c_str(), p);
      int64_t committed = 0;
      if (!rd_kafka_committed(probe, list, 10000))
        for (int i = 0; i < list->cnt; ++i)
          committed += std::max<int64_t>(0, list->elems[i].offset);
      rd_kafka_topic_partition_list_destroy(list);
      return committed == o.records;
    },
    120s, "every input offset to be committed");
  rd_kafka_destroy(probe);
  if (standbys > 0)
    wait_for([&] { return metric(scrape(b), "sluice_standby_lag_records") == 0; }, 60s, "B's standbys to catch up");

  const auto start = steady_clock::now();
  a.close();
  wait_for([&] { return b.assigned_partitions() == o.partitions; }, 600s, "B to be assigned every task");
  const auto assigned = steady_clock::now();
  wait_for([&] { return scrape(b, "/health").find("\"ready\":true") != std::string::npos; }, 600s,
           "B to run every task");
  failover out;
  out.seconds = duration<double>(steady_clock::now() - start).count();
  out.restoring = duration<double>(steady_clock::now() - assigned).count();
  const auto mb = scrape(b);
  for (const auto& task : tasks_of_a)
    out.restored += metric(mb, "sluice_restore_records_total", "task=\"" + task + "\"");
  rd_kafka_t* rk = make_client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap}, {"group.id", app + "-probe"}});
  for (const auto& task : tasks_of_a) {
    int64_t low = 0, high = 0;
    check(rd_kafka_query_watermark_offsets(rk, (app + "-counts-store-changelog").c_str(), std::stoi(task.substr(2)),
                                           &low, &high, 10000),
          "changelog watermarks");
    if (low > 0)
      std::cerr << "warning: the embedded broker dropped the first " << low << " records of a changelog partition\n";
    out.changelog += static_cast<double>(high - low);
  }
  rd_kafka_destroy(rk);
  b.close();
  std::filesystem::remove_all(dir);
  return out;
}

} // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App cli{"failover time of a departing instance's tasks, with and without a standby replica"};
  cli.add_option("--records", o.records, "distinct keys (store entries) in all")->capture_default_str();
  cli.add_option("--partitions", o.partitions, "input partitions (tasks)")->capture_default_str();
  cli.add_option("--repeat", o.repeat, "runs of each variant, alternating")->capture_default_str();
  CLI11_PARSE(cli, argc, argv);
  sluice::setup_logging("warn");
  try {
    sluice::embedded_broker broker{1};
    broker.create_topic(o.input, o.partitions);
    produce(broker.bootstrap_servers(), o);
    verify_by_consuming(broker.bootstrap_servers(), o.input, o.partitions, o.records);
    std::printf("%lld keys over %d partitions; two instances share them, then one closes\n",
                static_cast<long long>(o.records), o.partitions);
    std::vector<double> seconds[2], restoring[2];
    int index = 0;
    for (int r = 0; r < o.repeat; ++r)
      for (int standbys : {0, 1}) {
        const auto f = run(broker, o, standbys, index++);
        seconds[standbys].push_back(f.seconds);
        restoring[standbys].push_back(f.restoring);
        std::printf("  %-10s  failover %6.2f s (assigned to running %6.2f s)  restored %9.0f of %9.0f changelog "
                    "records of the moved tasks\n",
                    standbys ? "standby" : "no standby", f.seconds, f.restoring, f.restored, f.changelog);
        std::fflush(stdout);
      }
    const double without = median(seconds[0]), with = median(seconds[1]);
    const double restore_without = median(restoring[0]), restore_with = median(restoring[1]);
    std::printf("median failover: %.2f s without a standby, %.2f s with one (%.2fx); assigned to running: %.2f s "
                "without, %.2f s with (%.2fx)\n",
                without, with, with / without, restore_without, restore_with, restore_with / restore_without);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sluice-bench-failover: %s\n", e.what());
    return 1;
  }
}
