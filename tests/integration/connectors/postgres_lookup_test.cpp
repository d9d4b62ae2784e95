// Integration tests of postgres_lookup against a real PostgreSQL 15 cluster (pg_cluster).

#include <sluice/connectors/postgres/postgres_lookup.hpp>
#include "connectors/redact.hpp"
#include "pg_cluster.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <future>
#include <map>
#include <sstream>
#include <thread>

using namespace std::chrono_literals;
using sluice::errc;
using sluice::postgres_lookup;
using sluice::postgres_lookup_options;
using sluice::test::pg_cluster;

namespace {

// Captures everything a component logs, to assert on it (e.g. no password).
struct captured_log {
  std::ostringstream stream;
  std::shared_ptr<spdlog::logger> logger;
  captured_log() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream);
    logger = std::make_shared<spdlog::logger>("captured", sink);
    logger->set_level(spdlog::level::trace);
  }
  std::string text() {
    logger->flush();
    return stream.str();
  }
};

std::size_t count_occurrences(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1))
    ++n;
  return n;
}

const std::map<std::string, std::int64_t> tutorial_thresholds = {
  {"doc", 20}, {"grumpy", 30}, {"sleepy", 40}, {"bashful", 60}, {"happy", 70}, {"sneezy", 80}, {"dopey", 90}};

class PostgresLookup : public ::testing::Test {
protected:
  static void SetUpTestSuite() { cluster_ = std::make_unique<pg_cluster>(); }
  static void TearDownTestSuite() { cluster_.reset(); }

  void SetUp() override {
    cluster_->start(); // a failed restart test must not break the next test
    cluster_->exec("DROP TABLE IF EXISTS cpu_thresholds; DROP TABLE IF EXISTS many_hosts;"
                   "CREATE TABLE cpu_thresholds (hostname text PRIMARY KEY, allowed_top integer "
                   "NOT NULL, ratio double precision, budget numeric(10,2), big bigint, "
                   "active boolean, tags jsonb, note text);"
                   "INSERT INTO cpu_thresholds (hostname, allowed_top) VALUES ('grumpy', 30), "
                   "('sleepy', 40), ('bashful', 60), ('happy', 70), ('sneezy', 80), ('dopey', 90);"
                   "INSERT INTO cpu_thresholds VALUES ('doc', 20, 0.25, 12.50, 9000000000, true, "
                   "'{\"rack\": \"a1\"}', NULL);"
                   "INSERT INTO cpu_thresholds (hostname, allowed_top) VALUES "
                   "('we\"ird\\host,{x}', 5);"
                   "CREATE TABLE many_hosts (id integer PRIMARY KEY, hostname text NOT NULL);"
                   "INSERT INTO many_hosts SELECT i, 'host-' || i FROM generate_series(0, 89) i;");
  }

  postgres_lookup_options options(std::shared_ptr<spdlog::logger> logger = nullptr) const {
    postgres_lookup_options o;
    o.conninfo = cluster_->conninfo();
    o.table = "public.cpu_thresholds";
    o.key_column = "hostname";
    o.retry_backoff_min = 50ms;
    o.retry_backoff_max = 400ms;
    o.logger = std::move(logger);
    return o;
  }

  static std::unique_ptr<pg_cluster> cluster_;
};

std::unique_ptr<pg_cluster> PostgresLookup::cluster_;

TEST_F(PostgresLookup, PresentKeysGetTypedRowsAbsentKeysGetNullopt) {
  postgres_lookup lookup{options()};
  auto result = lookup.lookup({"doc", "grumpy", "nobody"});
  ASSERT_TRUE(result) << result.error().message;
  ASSERT_EQ(result->size(), 3u);
  ASSERT_TRUE(result->at("doc").has_value());
  const auto& doc = *result->at("doc");
  EXPECT_EQ(doc.at("hostname").as_string(), "doc");
  ASSERT_TRUE(doc.at("allowed_top").is_int64());
  EXPECT_EQ(doc.at("allowed_top").as_int64(), 20);
  ASSERT_TRUE(doc.at("ratio").is_double());
  EXPECT_DOUBLE_EQ(doc.at("ratio").as_double(), 0.25);
  ASSERT_TRUE(doc.at("budget").is_double());
  EXPECT_DOUBLE_EQ(doc.at("budget").as_double(), 12.5);
  EXPECT_EQ(doc.at("big").as_int64(), 9000000000LL);
  EXPECT_EQ(doc.at("active").as_bool(), true);
  EXPECT_EQ(doc.at("tags").as_object().at("rack").as_string(), "a1");
  EXPECT_TRUE(doc.at("note").is_null());
  EXPECT_EQ(result->at("grumpy")->at("allowed_top").as_int64(), 30);
  EXPECT_TRUE(result->at("grumpy")->at("ratio").is_null());
  EXPECT_FALSE(result->at("nobody").has_value());
}

TEST_F(PostgresLookup, SelectedColumnsAndFullQueryText) {
  auto o = options();
  o.columns = {"allowed_top"};
  postgres_lookup by_columns{o};
  auto r1 = by_columns.lookup({"sleepy"});
  ASSERT_TRUE(r1) << r1.error().message;
  ASSERT_TRUE(r1->at("sleepy"));
  EXPECT_EQ(r1->at("sleepy")->size(), 2u); // key column always included
  EXPECT_EQ(r1->at("sleepy")->at("allowed_top").as_int64(), 40);

  auto q = options();
  q.query = "SELECT hostname, allowed_top * 2 AS doubled FROM cpu_thresholds "
            "WHERE hostname = ANY($1)";
  postgres_lookup by_query{q};
  auto r2 = by_query.lookup({"happy", "nobody"});
  ASSERT_TRUE(r2) << r2.error().message;
  EXPECT_EQ(r2->at("happy")->at("doubled").as_int64(), 140);
  EXPECT_FALSE(r2->at("nobody"));
}

TEST_F(PostgresLookup, KeysAreDataNeverSql) {
  postgres_lookup lookup{options()};
  const std::string hostile = "doc\"}'); DROP TABLE cpu_thresholds; --";
  const std::string weird = "we\"ird\\host,{x}";
  auto result = lookup.lookup({hostile, weird, "doc"});
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_FALSE(result->at(hostile));
  ASSERT_TRUE(result->at(weird));
  EXPECT_EQ(result->at(weird)->at("allowed_top").as_int64(), 5);
  EXPECT_TRUE(result->at("doc"));
  cluster_->exec("SELECT count(*) FROM cpu_thresholds"); // table still there
}

TEST_F(PostgresLookup, BatchOfHundredKeysIsOneQuery) {
  auto o = options();
  o.table = "many_hosts";
  o.key_column = "id"; // integer key: PostgreSQL infers $1 as integer[]
  postgres_lookup lookup{o};
  std::vector<std::string> keys;
  for (int i = 0; i < 100; ++i)
    keys.push_back(std::to_string(i));
  const auto executions_before = count_occurrences(cluster_->server_log(), "execute sluice_lookup");
  auto result = lookup.lookup(keys);
  ASSERT_TRUE(result) << result.error().message;
  ASSERT_EQ(result->size(), 100u);
  for (int i = 0; i < 100; ++i) {
    const auto& row = result->at(std::to_string(i));
    if (i < 90) {
      ASSERT_TRUE(row) << i;
      EXPECT_EQ(row->at("hostname").as_string(), "host-" + std::to_string(i));
      EXPECT_EQ(row->at("id").as_int64(), i);
    } else {
      EXPECT_FALSE(row) << i;
    }
  }
  EXPECT_EQ(lookup.metrics().queries, 1u);
  EXPECT_EQ(lookup.metrics().cache_misses, 100u);
  // Independent of our counters: the server logged exactly one execution of the statement.
  EXPECT_EQ(count_occurrences(cluster_->server_log(), "execute sluice_lookup") - executions_before, 1u);
}

TEST_F(PostgresLookup, CacheHitsAndMissesCountedIncludingAbsentKeys) {
  postgres_lookup lookup{options()};
  ASSERT_TRUE(lookup.lookup({"doc", "grumpy"}));
  auto m = lookup.metrics();
  EXPECT_EQ(m.cache_misses, 2u);
  EXPECT_EQ(m.cache_hits, 0u);
  EXPECT_EQ(m.queries, 1u);

  auto again = lookup.lookup({"doc", "grumpy", "doc"});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->at("doc")->at("allowed_top").as_int64(), 20);
  m = lookup.metrics();
  EXPECT_EQ(m.cache_hits, 2u); // duplicates in one call count once
  EXPECT_EQ(m.queries, 1u);    // no query at all

  ASSERT_TRUE(lookup.lookup({"doc", "nobody"}));
  m = lookup.metrics();
  EXPECT_EQ(m.cache_hits, 3u);
  EXPECT_EQ(m.cache_misses, 3u);
  EXPECT_EQ(m.queries, 2u);

  auto absent = lookup.lookup({"nobody"}); // absent keys are cached too
  ASSERT_TRUE(absent);
  EXPECT_FALSE(absent->at("nobody"));
  EXPECT_EQ(lookup.metrics().queries, 2u);
  EXPECT_EQ(lookup.metrics().cache_hits, 4u);
}

TEST_F(PostgresLookup, CacheEvictsLeastRecentlyUsedBeyondMaxRows) {
  auto o = options();
  o.cache_max_rows = 2;
  postgres_lookup lookup{o};
  ASSERT_TRUE(lookup.lookup({"doc"}));
  ASSERT_TRUE(lookup.lookup({"grumpy"}));
  ASSERT_TRUE(lookup.lookup({"doc"}));    // hit; grumpy is now least recently used
  ASSERT_TRUE(lookup.lookup({"sleepy"})); // evicts grumpy
  auto before = lookup.metrics();
  ASSERT_TRUE(lookup.lookup({"doc"}));    // still cached
  ASSERT_TRUE(lookup.lookup({"grumpy"})); // evicted: queried again
  auto after = lookup.metrics();
  EXPECT_EQ(after.cache_hits - before.cache_hits, 1u);
  EXPECT_EQ(after.queries - before.queries, 1u);
}

TEST_F(PostgresLookup, ChangedThresholdSeenAfterTtlNotBefore) {
  auto o = options();
  o.cache_ttl = 3s;
  std::chrono::steady_clock::time_point now{}; // the cache's clock, moved by hand
  o.clock = [&now] { return now; };
  postgres_lookup lookup{o};
  auto first = lookup.lookup({"doc"});
  ASSERT_TRUE(first);
  EXPECT_EQ(first->at("doc")->at("allowed_top").as_int64(), 20);
  cluster_->exec("UPDATE cpu_thresholds SET allowed_top = 25 WHERE hostname = 'doc'");
  now += 2999ms;
  auto cached = lookup.lookup({"doc"});
  ASSERT_TRUE(cached);
  EXPECT_EQ(cached->at("doc")->at("allowed_top").as_int64(), 20) << "served from cache";
  now += 1ms;
  auto fresh = lookup.lookup({"doc"});
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->at("doc")->at("allowed_top").as_int64(), 25);
  EXPECT_EQ(lookup.metrics().queries, 2u);
}

TEST_F(PostgresLookup, ServerRestartDuringLookupsLosesNothing) {
  captured_log log;
  std::atomic<bool> done{false};
  std::atomic<int> completed{0}, wrong{0}, failed{0}, started{0};
  std::array<std::atomic<int>, 2> completed_by{}; // each worker must be running before the outage
  std::vector<std::thread> workers;
  std::vector<std::unique_ptr<postgres_lookup>> lookups;
  for (int w = 0; w < 2; ++w) {
    auto o = options(log.logger);
    o.conninfo = w == 0 ? cluster_->conninfo() : cluster_->uri(); // both conninfo styles
    o.cache_max_rows = 0;                                         // every call goes to the server
    lookups.push_back(std::make_unique<postgres_lookup>(o));
  }
  for (int w = 0; w < 2; ++w) {
    workers.emplace_back([&, w] {
      std::vector<std::string> hosts;
      for (const auto& [h, _] : tutorial_thresholds)
        hosts.push_back(h);
      for (int i = 0; !done; ++i) {
        std::vector<std::string> keys = {hosts[(i + w) % hosts.size()], hosts[(i + 3) % hosts.size()], "absent-host"};
        started++;
        auto result = lookups[w]->lookup(keys);
        if (!result) {
          failed++;
          ADD_FAILURE() << result.error().message;
          continue;
        }
        bool ok = result->size() == 3 && !result->at("absent-host");
        for (std::size_t k = 0; k < 2 && ok; ++k) {
          const auto& row = result->at(keys[k]);
          ok = row && row->at("allowed_top").as_int64() == tutorial_thresholds.at(keys[k]);
        }
        if (!ok)
          wrong++;
        completed++;
        completed_by[w]++;
      }
    });
  }
  auto wait_until = [](auto pred, std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(10ms);
    return pred();
  };
  ASSERT_TRUE(wait_until([&] { return completed_by[0] >= 10 && completed_by[1] >= 10; }, 30s));
  cluster_->stop();
  std::this_thread::sleep_for(1500ms); // lookups are now blocked, retrying
  const int completed_while_down = completed;
  std::this_thread::sleep_for(500ms);
  EXPECT_LE(completed - completed_while_down, 0) << "no lookup may succeed while the DB is down";
  cluster_->start();
  const int after_restart = completed;
  ASSERT_TRUE(wait_until([&] { return completed >= after_restart + 20; }, 60s));
  done = true;
  for (auto& t : workers)
    t.join();
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(completed + failed, started) << "every lookup call returned";
  const auto text = log.text();
  for (auto& l : lookups) {
    EXPECT_GE(l->metrics().retries, 1u) << text;
    EXPECT_GE(l->metrics().connects, 2u) << text;
  }
  EXPECT_NE(text.find("retrying the same lookup"), std::string::npos) << text;
  EXPECT_NE(text.find("recovered"), std::string::npos) << text;
  EXPECT_EQ(text.find("Pw-Sluice-7f3a9c"), std::string::npos) << text;
}

TEST_F(PostgresLookup, StopRequestCancelsABlockedLookup) {
  auto o = options();
  postgres_lookup lookup{o};
  cluster_->stop();
  std::promise<sluice::expected<sluice::lookup_rows>> promise;
  auto future = promise.get_future();
  std::thread t([&] { promise.set_value(lookup.lookup({"doc"})); });
  EXPECT_EQ(future.wait_for(500ms), std::future_status::timeout) << "retries while DB is down";
  lookup.request_stop();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  t.join();
  auto result = future.get();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, errc::cancelled);
  cluster_->start();
}

TEST_F(PostgresLookup, PasswordNeverInLogsOrErrors) {
  captured_log log;
  // Wrong password: a configuration error, reported without the password.
  auto wrong = options(log.logger);
  wrong.conninfo = "host=127.0.0.1 port=" + std::to_string(cluster_->port()) +
                   " user=sluice password='Wrong-Pw 93b1' dbname=sluice_test";
  auto r1 = postgres_lookup{wrong}.lookup({"doc"});
  ASSERT_FALSE(r1);
  EXPECT_EQ(r1.error().code, errc::invalid_options);
  EXPECT_EQ(r1.error().message.find("Wrong-Pw"), std::string::npos) << r1.error().message;
  // Nothing listening: retried, then attempts_exhausted; URI form.
  auto down = options(log.logger);
  down.conninfo =
    "postgresql://sluice:Pw-Sluice-7f3a9c@127.0.0.1:" + std::to_string(sluice::test::free_tcp_port()) + "/sluice_test";
  down.max_attempts = 3;
  auto r2 = postgres_lookup{down}.lookup({"doc"});
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code, errc::attempts_exhausted);
  EXPECT_EQ(r2.error().message.find("Pw-Sluice"), std::string::npos) << r2.error().message;
  const auto text = log.text();
  EXPECT_NE(text.find("retrying"), std::string::npos) << text;
  EXPECT_EQ(text.find("Pw-Sluice"), std::string::npos) << text;
  EXPECT_EQ(text.find("Wrong-Pw"), std::string::npos) << text;
  // The redaction helpers themselves.
  EXPECT_EQ(sluice::redact_conninfo("host=h password='a b\\'c' user=u"), "host=h password=*** user=u");
  EXPECT_EQ(sluice::redact_conninfo("postgresql://u:secret@h:5432/db?password=x&sslmode=require"),
            "postgresql://u:***@h:5432/db?password=***&sslmode=require");
}

TEST_F(PostgresLookup, RejectedStatementIsAnErrorNotARetry) {
  auto o = options();
  o.table = "no_such_table";
  postgres_lookup lookup{o};
  auto result = lookup.lookup({"doc"});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, errc::query_failed);
  EXPECT_NE(result.error().message.find("42P01"), std::string::npos) << result.error().message;
  EXPECT_EQ(lookup.metrics().retries, 0u);

  auto bad = options();
  bad.key_column = "";
  auto invalid = postgres_lookup{bad}.lookup({"doc"});
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().code, errc::invalid_options);
}

} // namespace
