// The transaction driver on the embedded broker, with errors injected into the transactional
// requests: retriable failures are retried, abortable ones abort and the next transaction opens,
// fatal ones (a fenced producer) end the producer. (The embedded broker answers TxnOffsetCommit
// without storing the offsets, so what a transaction committed of them shows only on a cluster.)
#include "actors/kafka_client.hpp"
#include "actors/transaction.hpp"
#include "embedded_broker.hpp"
#include "kafka_test_client.hpp"
#include "test_helpers.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

using namespace sluice;
using namespace std::chrono_literals;
using sluice::test::unique_name;

namespace {

// Kafka protocol ApiKeys of the transactional requests.
constexpr std::int16_t init_producer_id = 22;
constexpr std::int16_t add_partitions_to_txn = 24;
constexpr std::int16_t txn_offset_commit = 28;
constexpr std::int16_t end_txn = 26;

/// A transactional producer on the embedded broker; destroyed with the fixture.
struct producer {
  kafka_handle rk;
  std::unique_ptr<transaction_driver> driver; // declared after rk: destroyed before the client it drives

  producer(const std::string& bootstrap, const std::string& transactional_id)
      : rk(make_kafka_client(RD_KAFKA_PRODUCER,
                             {{{"bootstrap.servers", bootstrap},
                               {"transactional.id", transactional_id},
                               {"transaction.timeout.ms", "10000"}}},
                             "transactional producer")),
        driver(std::make_unique<transaction_driver>(rk.get(), 5s)) {}
  /// Produces `value` to `topic` partition 0; the produce call's own result.
  rd_kafka_resp_err_t produce(const std::string& topic, const std::string& value) {
    return rd_kafka_producev(rk.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(0),
                             RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  }
};

struct transactions : ::testing::Test {
  embedded_broker broker{1};
  std::string topic = unique_name("out"), source = unique_name("in"), group = unique_name("group");
  rd_kafka_consumer_group_metadata_t* metadata = nullptr;

  void SetUp() override {
    broker.create_topic(topic, 1);
    broker.create_topic(source, 1);
    metadata = rd_kafka_consumer_group_metadata_new(group.c_str());
  }
  void TearDown() override { rd_kafka_consumer_group_metadata_destroy(metadata); }

  /// Commits the open transaction of `p` with source offset `offset`.
  transaction_result commit(producer& p, int64_t offset) {
    auto* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, source.c_str(), 0)->offset = offset;
    auto r = p.driver->commit(list, metadata);
    rd_kafka_topic_partition_list_destroy(list);
    return r;
  }

  /// The values in the output topic, read with `isolation`.
  std::vector<std::string> output(const std::string& isolation = "read_committed") const {
    test::kafka_test_client client{broker.bootstrap_servers()};
    test::consume_options o;
    o.stop_at_end = true;
    o.idle_timeout = 2s;
    o.isolation_level = isolation;
    std::vector<std::string> values;
    for (const auto& r : client.consume(topic, o))
      values.push_back(r.value.value_or(""));
    return values;
  }
};

} // namespace

TEST_F(transactions, a_commit_makes_the_outputs_visible_and_opens_the_next_transaction) {
  producer p{broker.bootstrap_servers(), unique_name("txn")};
  p.driver->init();
  ASSERT_TRUE(p.driver->open());
  ASSERT_EQ(p.produce(topic, "a"), RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_EQ(p.produce(topic, "b"), RD_KAFKA_RESP_ERR_NO_ERROR);
  auto r = commit(p, 42);
  EXPECT_EQ(r.outcome, transaction_outcome::committed) << r.reason;
  EXPECT_TRUE(p.driver->open()); // the next one began
  EXPECT_EQ(p.driver->commits(), 1u);
  EXPECT_EQ(output(), (std::vector<std::string>{"a", "b"}));
}

TEST_F(transactions, a_commit_without_offsets_commits_the_outputs_only) {
  producer p{broker.bootstrap_servers(), unique_name("txn")};
  p.driver->init();
  ASSERT_EQ(p.produce(topic, "a"), RD_KAFKA_RESP_ERR_NO_ERROR);
  auto r = p.driver->commit(nullptr, metadata);
  EXPECT_EQ(r.outcome, transaction_outcome::committed) << r.reason;
  EXPECT_EQ(output(), (std::vector<std::string>{"a"}));
}

TEST_F(transactions, retriable_failures_of_the_transactional_requests_are_retried) {
  producer p{broker.bootstrap_servers(), unique_name("txn")};
  broker.push_request_errors(init_producer_id, {RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS});
  p.driver->init();
  broker.push_request_errors(txn_offset_commit, {RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS});
  broker.push_request_errors(end_txn, {RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_COORDINATOR});
  ASSERT_EQ(p.produce(topic, "a"), RD_KAFKA_RESP_ERR_NO_ERROR);
  auto r = commit(p, 7);
  EXPECT_EQ(r.outcome, transaction_outcome::committed) << r.reason;
  EXPECT_EQ(p.driver->aborts(), 0u);
}

TEST_F(transactions, an_output_the_transaction_cannot_take_aborts_it_and_the_next_one_commits) {
  producer p{broker.bootstrap_servers(), unique_name("txn")};
  p.driver->init();
  broker.push_request_errors(add_partitions_to_txn, {RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED});
  ASSERT_EQ(p.produce(topic, "lost"), RD_KAFKA_RESP_ERR_NO_ERROR);
  auto r = commit(p, 5);
  ASSERT_EQ(r.outcome, transaction_outcome::aborted) << r.reason;
  EXPECT_NE(r.reason.find("committing the transaction"), std::string::npos) << r.reason;
  EXPECT_TRUE(p.driver->open());
  EXPECT_EQ(p.driver->aborts(), 1u);
  ASSERT_EQ(p.produce(topic, "kept"), RD_KAFKA_RESP_ERR_NO_ERROR);
  r = commit(p, 6);
  EXPECT_EQ(r.outcome, transaction_outcome::committed) << r.reason;
}

TEST_F(transactions, offsets_the_group_refuses_abort_the_transaction) {
  producer p{broker.bootstrap_servers(), unique_name("txn")};
  p.driver->init();
  // A zombie: the group moved on to another generation (KIP-447 fencing on brokers 2.5+).
  broker.push_request_errors(txn_offset_commit, {RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION});
  ASSERT_EQ(p.produce(topic, "a"), RD_KAFKA_RESP_ERR_NO_ERROR);
  auto r = commit(p, 9);
  ASSERT_NE(r.outcome, transaction_outcome::committed);
  EXPECT_NE(r.reason.find("sending the consumed offsets"), std::string::npos) << r.reason;
}

TEST_F(transactions, a_fenced_producer_cannot_go_on) {
  producer p{broker.bootstrap_servers(), unique_name("txn")};
  p.driver->init();
  broker.push_request_errors(end_txn, {RD_KAFKA_RESP_ERR_PRODUCER_FENCED});
  ASSERT_EQ(p.produce(topic, "a"), RD_KAFKA_RESP_ERR_NO_ERROR);
  auto r = commit(p, 3);
  EXPECT_EQ(r.outcome, transaction_outcome::fatal) << r.reason;
  EXPECT_FALSE(p.driver->open());
  EXPECT_EQ(commit(p, 4).outcome, transaction_outcome::fatal); // and stays so
}

TEST_F(transactions, an_abort_discards_the_open_transaction_and_opens_the_next) {
  producer p{broker.bootstrap_servers(), unique_name("txn")};
  p.driver->init();
  ASSERT_EQ(p.produce(topic, "a"), RD_KAFKA_RESP_ERR_NO_ERROR);
  auto r = p.driver->abort();
  EXPECT_EQ(r.outcome, transaction_outcome::aborted) << r.reason;
  EXPECT_TRUE(p.driver->open());
  r = commit(p, 1);
  EXPECT_EQ(r.outcome, transaction_outcome::committed) << r.reason;
}

TEST_F(transactions, a_second_producer_with_the_same_transactional_id) {
  const auto id = unique_name("txn");
  producer first{broker.bootstrap_servers(), id};
  first.driver->init();
  ASSERT_EQ(first.produce(topic, "first"), RD_KAFKA_RESP_ERR_NO_ERROR);
  producer second{broker.bootstrap_servers(), id};
  second.driver->init(); // on a Kafka cluster this fences `first` and aborts its open transaction
  ASSERT_EQ(second.produce(topic, "second"), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(commit(second, 2).outcome, transaction_outcome::committed);
  const auto r = commit(first, 1);
  // The embedded broker does not fence (docs/configuration.md): the first commits as well. On a
  // Kafka cluster its commit is refused as fenced, which the driver reports as fatal.
  EXPECT_EQ(r.outcome, transaction_outcome::committed) << r.reason;
}
