#include "event_time_cases.hpp"

#include "embedded_broker.hpp"
#include "paths.hpp"

#include <atomic>
#include <cstdio>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace sluice::test {

namespace {

// Produces records in order, evenly spread over `duration` of wall-clock time, on a thread of its own.
class paced_producer {
public:
  paced_producer(const std::string& bootstrap_servers, std::vector<const placed_record*> records,
                 std::chrono::milliseconds duration)
      : records_(std::move(records)), thread_([this, bootstrap_servers, duration] {
          // Back within 100 ms of a broker outage: an input that stayed silent for the idle timeout
          // after one would turn every partition idle, and its backlog could then be late when
          // some partitions' burst is read before the others' (docs/windowing.md, "Idleness").
          kafka_test_producer producer(bootstrap_servers,
                                       {{"reconnect.backoff.ms", "10"}, {"reconnect.backoff.max.ms", "100"}});
          const auto start = std::chrono::steady_clock::now();
          const auto n = records_.size();
          for (std::size_t k = 0; k < n; ++k) {
            std::this_thread::sleep_until(start +
                                          duration * static_cast<std::int64_t>(k) / static_cast<std::int64_t>(n));
            producer.send(records_[k]->topic, records_[k]->record);
            sent_ = k + 1;
          }
          result_ = producer.flush();
        }) {}

  // Records handed to the producer so far.
  std::size_t sent() const { return sent_; }
  std::size_t size() const { return records_.size(); }

  // Waits for the last record's delivery report.
  delivery_summary finish() {
    thread_.join();
    return result_;
  }

private:
  std::vector<const placed_record*> records_;
  std::atomic<std::size_t> sent_{0};
  delivery_summary result_;
  std::jthread thread_;
};

std::string undelivered(const delivery_summary& s, std::size_t total) {
  if (s.delivered == total)
    return "";
  return std::to_string(total - s.delivered) + " of " + std::to_string(total) +
         " input records not delivered: " + s.first_error;
}

} // namespace

std::vector<generated_record> generate(const std::string& scenario, std::uint64_t seed, std::int64_t step_ms,
                                       const std::vector<std::string>& flags, std::int64_t start_ms) {
  std::vector<std::string> args = {scenario,     "--print",
                                   "--seed",     std::to_string(seed),
                                   "--start-ms", std::to_string(start_ms),
                                   "--step-ms",  std::to_string(step_ms)};
  args.insert(args.end(), flags.begin(), flags.end());
  child_process gen(built_binary("sluice-gen"), args);
  const auto status = gen.wait_for(std::chrono::seconds{30});
  if (!status || !status->success())
    throw std::runtime_error("sluice-gen " + scenario + " failed: " + gen.stderr_text());
  std::vector<generated_record> records;
  std::istringstream lines(gen.stdout_text());
  for (std::string line; std::getline(lines, line);) {
    // KEY<TAB>VALUE, or TOPIC<TAB>KEY<TAB>VALUE for a scenario of several topics (JSON escapes tabs).
    generated_record r;
    auto tab = line.find('\t');
    if (line.find('\t', tab + 1) != std::string::npos) {
      r.topic = line.substr(0, tab);
      line.erase(0, tab + 1);
      tab = line.find('\t');
    }
    if (tab > 0)
      r.key = line.substr(0, tab);
    r.value = line.substr(tab + 1);
    r.event_time_ms = start_ms + static_cast<std::int64_t>(records.size()) * step_ms;
    records.push_back(std::move(r));
  }
  return records;
}

void PrintTo(const event_time_case& c, std::ostream* os) { *os << c.name; }

const std::vector<event_time_case>& event_time_cases() {
  static const std::vector<event_time_case> cases = {
    {.name = "backlog_4_partitions", .partitions = 4, .input = arrival::backlog},
    {.name = "backlog_8_partitions_one_empty_3_instances",
     .partitions = 8,
     .input = arrival::backlog,
     .instances = 3,
     .empty_partition = true},
    {.name = "live_1_partition", .partitions = 1, .input = arrival::live},
    {.name = "live_4_partitions_3_instances_one_killed_and_restarted",
     .partitions = 4,
     .input = arrival::live,
     .instances = 3,
     .kills = 1,
     .idle_timeout = std::chrono::milliseconds{5000}},
    {.name = "backlog_with_one_partition_far_behind", .partitions = 4, .input = arrival::one_partition_behind},
  };
  return cases;
}

std::vector<placed_record> place(const event_time_case& c, const std::vector<generated_record>& records,
                                 const std::map<std::string, std::string>& topics) {
  std::vector<int> partitions;
  for (int p = 0; p < c.partitions; ++p)
    if (!(c.empty_partition && p == c.partitions - 1))
      partitions.push_back(p);
  if (partitions.empty())
    throw std::invalid_argument("case " + c.name + " leaves no partition to write to");
  std::map<std::string, std::map<std::string, std::size_t>> key_rank; // topic -> key -> n-th distinct key
  std::map<std::string, std::size_t> turn;                            // topic -> records without a key so far
  std::vector<placed_record> placed;
  const std::size_t backlog_count = c.input == arrival::backlog_then_live ? records.size() / 3 : records.size();
  for (const auto& r : records) {
    const auto& topic = topics.at(r.topic);
    auto& ranks = key_rank[topic];
    const std::size_t n = r.key ? ranks.try_emplace(*r.key, ranks.size()).first->second : turn[topic]++;
    const int partition = partitions[n % partitions.size()];
    const bool backlog = c.input == arrival::backlog || (c.input == arrival::one_partition_behind && partition != 0) ||
                         (c.input == arrival::backlog_then_live && placed.size() < backlog_count);
    placed.push_back({topic, outgoing_record{r.key, r.value, {}, partition, r.event_time_ms}, backlog});
  }
  return placed;
}

std::string run_case(const event_time_case& c, embedded_broker& broker, const std::vector<generated_record>& records,
                     const std::map<std::string, std::string>& topics, const std::vector<std::string>& internal_topics,
                     app_instances& app) {
  app.set_idle_timeout(c.idle_timeout);
  std::map<std::string, int> partitions_of;
  for (const auto& [generated, topic] : topics) {
    broker.create_topic(topic, c.partitions);
    partitions_of[topic] = c.partitions;
  }
  for (const auto& name : internal_topics)
    broker.create_topic(app.application_id() + "-" + name, c.partitions);
  const auto placed = place(c, records, topics);
  std::vector<const placed_record*> later;
  std::size_t backlog = 0;
  {
    kafka_test_producer producer(broker.bootstrap_servers());
    for (const auto& p : placed) {
      if (p.backlog) {
        producer.send(p.topic, p.record);
        ++backlog;
      } else {
        later.push_back(&p);
      }
    }
    if (const auto problem = undelivered(producer.flush(), backlog); !problem.empty())
      return problem;
  }

  std::unique_ptr<paced_producer> paced;
  switch (c.input) {
  case arrival::backlog:
    app.start();
    return "";
  case arrival::live:
  case arrival::backlog_then_live:
    app.start();
    if (!app.wait_until_assigned(partitions_of))
      return "the instances did not get every input partition\n" + app.logs();
    paced = std::make_unique<paced_producer>(broker.bootstrap_servers(), later, c.live_time);
    break;
  case arrival::one_partition_behind:
    // Records less than the idle timeout apart from before the app starts: the partition is never idle.
    if (behind_duration / std::max<std::size_t>(later.size(), 1) >= c.idle_timeout / 2)
      return "too few records in the partition behind to keep it from being idle";
    paced = std::make_unique<paced_producer>(broker.bootstrap_servers(), later, behind_duration);
    app.start();
    if (!app.wait_until_assigned(partitions_of))
      return "the instances did not get every input partition\n" + app.logs();
    if (paced->sent() == paced->size())
      return "the app took longer to start than the partition behind took to produce: it was not behind";
    break;
  }
  for (int k = 0; k < c.kills; ++k) {
    const auto due = paced->size() * static_cast<std::size_t>(k + 1) / static_cast<std::size_t>(c.kills + 2);
    wait_until([&] { return paced->sent() >= due; }, c.live_time, std::chrono::milliseconds{20});
    if (paced->sent() == paced->size())
      return "the live input ended before kill " + std::to_string(k + 1) + ": it would not be mid-stream";
    const int victim = k % app.size();
    if (!app.kill_and_restart(victim))
      return "instance " + std::to_string(victim) + " did not die of SIGKILL";
    std::printf("killed and restarted instance %d after %zu of %zu live records\n", victim, paced->sent(),
                paced->size());
    std::fflush(stdout);
  }
  if (c.mid_stream) {
    wait_until([&] { return paced->sent() >= paced->size() / 2; }, c.live_time, std::chrono::milliseconds{20});
    if (paced->sent() == paced->size())
      return "the live input ended before the mid-stream fault";
    if (auto problem = c.mid_stream(); !problem.empty())
      return problem;
  }
  return undelivered(paced->finish(), later.size());
}

} // namespace sluice::test
