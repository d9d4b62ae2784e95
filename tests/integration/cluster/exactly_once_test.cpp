// processing.guarantee=exactly_once_v2 on the embedded broker: counts over a repartitioned
// 4-partition backlog, committed in transactions with their offsets; an aborted transaction
// rewinds every task to the last commit and restores its store, so counts stay exact; a fenced
// producer is replaced; transactions that keep failing stop the instance with the reason. (The embedded broker shows
// aborted records to read_committed readers too, so these tests judge the final count of each key, which an abort
// without a correct rewind and restore would inflate.)
#include <sluice/kafka_streams.hpp>
#include "embedded_broker.hpp"
#include "kafka_test_client.hpp"
#include "test_helpers.hpp"
#include <sluice/topology/grouped_stream.hpp>
#include <sluice/topology/stream.hpp>
#include <sluice/topology/table.hpp>

#include <gtest/gtest.h>

#include <map>
#include <numeric>

using namespace sluice;
using namespace std::chrono_literals;
using sluice::test::consume_options;
using sluice::test::kafka_test_client;
using sluice::test::outgoing_record;
using sluice::test::unique_name;

namespace {

constexpr int partitions = 4;
constexpr int keys = 40;

// Kafka protocol ApiKeys of the transactional requests.
constexpr std::int16_t add_partitions_to_txn = 24;
constexpr std::int16_t end_txn = 26;

struct exactly_once : ::testing::Test {
  embedded_broker broker{1};
  kafka_test_client client{broker.bootstrap_servers()};
  std::string in = unique_name("in"), out = unique_name("out"), app = unique_name("app");
  sluice::test::temp_dir state{"sluice-exactly-once"};
  std::map<std::string, int64_t> expected; // records per key, counted as produced

  void SetUp() override {
    broker.create_topic(in, partitions);
    broker.create_topic(out, partitions);
  }

  streams_config config() const {
    auto c = sluice::test::app_config(app, broker.bootstrap_servers(), state.path);
    c.set("processing.guarantee", "exactly_once_v2");
    c.set("num.stream.threads", "2");
    return c;
  }

  /// `n` records spread over the input partitions; the value names the key to count under.
  void produce_backlog(int n) {
    std::vector<outgoing_record> records;
    for (int i = 0; i < n; ++i) {
      auto key = "k" + std::to_string((i * 7) % keys);
      ++expected[key];
      records.push_back({"r" + std::to_string(i), key, {}, i % partitions});
    }
    client.produce(in, records);
  }

  /// Counts per value, through a repartition topic (two sub-topologies, a changelogged store).
  static topology counting(const std::string& in, const std::string& out) {
    topology_builder b;
    b.stream<serdes::string, serdes::string>(in)
      .group_by([](const std::string&, const std::string& v) { return v; }, "by-value")
      .count("counts")
      .to_stream()
      .map_values([](int64_t n) { return std::to_string(n); })
      .to<serdes::string, serdes::string>(out);
    return b.build();
  }

  /// The last count of each key in the output (its final value: later records come later).
  std::map<std::string, int64_t> final_counts() const {
    consume_options o;
    o.stop_at_end = true;
    o.idle_timeout = 2s;
    o.isolation_level = "read_committed";
    std::map<std::string, int64_t> last;
    for (const auto& r : client.consume(out, o))
      last[r.key.value_or("")] = std::stoll(r.value.value_or("0"));
    return last;
  }

  /// The keys whose last written count is not the expected one, as " key: expected, written".
  std::string count_differences() const {
    std::string out;
    const auto last = final_counts();
    for (const auto& [key, n] : expected)
      if (auto it = last.find(key); it == last.end() || it->second != n)
        out += " " + key + ": " + std::to_string(n) + ", " + (it == last.end() ? "none" : std::to_string(it->second));
    return out;
  }

  /// Waits until every input record went through both sub-topologies and the output holds the
  /// expected count of every key.
  void expect_exact_counts(kafka_streams& streams) {
    const auto total = static_cast<int64_t>(std::accumulate(expected.begin(), expected.end(), int64_t{0},
                                                            [](int64_t a, const auto& kv) { return a + kv.second; }));
    ASSERT_TRUE(sluice::test::wait_until(
      [&] { return streams.failed() || (streams.records_processed() >= 2 * total && final_counts() == expected); },
      120s))
      << "processed " << streams.records_processed() << " of " << 2 * total << "; " << streams.failure()
      << "; final counts that differ (key: expected, last written):" << count_differences();
    EXPECT_FALSE(streams.failed()) << streams.failure();
  }
};

} // namespace

TEST_F(exactly_once, counts_over_a_repartitioned_backlog_are_exact_and_committed_in_transactions) {
  produce_backlog(8000);
  kafka_streams streams{counting(in, out), config()};
  streams.start();
  expect_exact_counts(streams);
  EXPECT_GT(streams.commits(), 0);
  EXPECT_EQ(streams.rewinds(), 0);
  streams.close();
  // The consumed offsets went with the transactions: the group is at the end of every partition.
  for (int p = 0; p < partitions; ++p)
    EXPECT_EQ(client.committed_offset(app, in, p), 8000 / partitions) << "partition " << p;
}

TEST_F(exactly_once, an_aborted_transaction_rewinds_the_tasks_and_restores_their_stores) {
  produce_backlog(8000);
  kafka_streams streams{counting(in, out), config()};
  streams.start();
  // Let part of the backlog commit, then make the next transactions fail.
  ASSERT_TRUE(sluice::test::wait_until([&] { return streams.commits() >= 3 || streams.failed(); }, 60s));
  broker.push_request_errors(add_partitions_to_txn, {RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                                                     RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED});
  produce_backlog(8000); // more input, so there is something to fail
  expect_exact_counts(streams);
  EXPECT_GE(streams.rewinds(), 1);
}

// Aborts while commits take a round trip (30 ms) and without a record cache (every count reaches
// the store, and its changelog, as it is made): a store may then hold writes of the next
// transaction when one ends, and rewinds must rebuild such stores (task_stores_test.cpp) rather
// than take them for the committed state. Six aborts, each on a burst of input.
TEST_F(exactly_once, aborts_during_slow_commits_without_a_record_cache_keep_counts_exact) {
  produce_backlog(400);
  auto c = config();
  c.set("cache.max.bytes.buffering", "0");
  kafka_streams streams{counting(in, out), c};
  streams.start();
  ASSERT_TRUE(sluice::test::wait_until([&] { return streams.commits() >= 2 || streams.failed(); }, 60s));
  broker.set_rtt(1, 30ms);
  for (int round = 0; round < 6; ++round) {
    const auto rewinds = streams.rewinds();
    broker.push_request_errors(add_partitions_to_txn, {RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED});
    produce_backlog(400);
    ASSERT_TRUE(sluice::test::wait_until([&] { return streams.rewinds() > rewinds || streams.failed(); }, 60s));
  }
  broker.set_rtt(1, 0ms);
  expect_exact_counts(streams);
}

TEST_F(exactly_once, a_fenced_producer_is_replaced_and_counts_stay_exact) {
  produce_backlog(4000);
  // What a broker before 2.7 answers when a transaction outlived transaction.timeout.ms.
  broker.push_request_errors(end_txn, {RD_KAFKA_RESP_ERR_PRODUCER_FENCED});
  kafka_streams streams{counting(in, out), config()};
  streams.start();
  expect_exact_counts(streams);
  EXPECT_GE(streams.rewinds(), 1);
}

TEST_F(exactly_once, transactions_that_keep_failing_stop_the_instance_with_the_reason) {
  produce_backlog(2000);
  broker.push_request_errors(end_txn, std::vector<rd_kafka_resp_err_t>(12, RD_KAFKA_RESP_ERR_PRODUCER_FENCED));
  kafka_streams streams{counting(in, out), config()};
  streams.start();
  ASSERT_TRUE(sluice::test::wait_until([&] { return streams.failed(); }, 120s)) << "still running";
  EXPECT_NE(streams.failure().find("in a row"), std::string::npos) << streams.failure();
  EXPECT_NE(streams.failure().find("fenced"), std::string::npos) << streams.failure();
  EXPECT_EQ(streams.commits(), 0);
}
