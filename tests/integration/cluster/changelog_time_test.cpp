// Changelog records carry the time they were written, not the event time of the records that
// caused them: a broker deletes by time retention from record timestamps, so a window changelog
// (retention.ms = store retention + 1 day) filled while replaying last year's data would be deleted
// right away and a restore would find nothing.
#include <sluice/kafka_streams.hpp>
#include "embedded_broker.hpp"
#include "kafka_test_client.hpp"
#include "test_helpers.hpp"
#include <sluice/topology/stream.hpp>

#include <gtest/gtest.h>

using namespace sluice;
using namespace std::chrono_literals;
using sluice::test::consume_options;
using sluice::test::kafka_test_client;
using sluice::test::outgoing_record;
using sluice::test::unique_name;

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

} // namespace

TEST(changelog_time, replayed_history_is_logged_with_the_wall_clock) {
  embedded_broker broker;
  const kafka_test_client client{broker.bootstrap_servers()};
  const auto in = unique_name("in"), app = unique_name("app");
  broker.create_topic(in, 4);
  constexpr int64_t march_2023 = 1677628800000;
  std::vector<outgoing_record> input;
  for (int i = 0; i < 200; ++i)
    input.push_back({"host-" + std::to_string(i % 10), "1", {}, RD_KAFKA_PARTITION_UA, march_2023 + i * 1000});
  client.produce(in, input);

  topology_builder b;
  auto grouped = b.stream<serdes::string, serdes::string>(in).group_by_key();
  grouped.windowed_by(tumbling(1min).retain(std::chrono::hours{24 * 7})).count("per-minute");
  grouped.count("total");
  sluice::test::temp_dir state{"sluice-changelog-time"};
  auto config = sluice::test::app_config(app, broker.bootstrap_servers(), state.path);
  config.commit_interval_ms = 300;
  config.set("kafka.session.timeout.ms", "6000");
  const auto started = now_ms();
  kafka_streams streams{b.build(), config};
  streams.start();
  ASSERT_TRUE(
    sluice::test::wait_until([&] { return streams.records_processed() == 200 && streams.commits() > 0; }, 60s))
    << streams.failure();
  streams.close(); // final commit: every changelog record acknowledged
  const auto stopped = now_ms();

  consume_options o;
  o.stop_at_end = true;
  o.idle_timeout = 2s;
  for (const auto* store : {"per-minute-store", "total-store"}) {
    const auto records = client.consume(app + "-" + store + "-changelog", o);
    ASSERT_FALSE(records.empty()) << store;
    for (const auto& r : records) {
      EXPECT_GE(r.timestamp_ms, started) << store << " offset " << r.offset;
      EXPECT_LE(r.timestamp_ms, stopped) << store << " offset " << r.offset;
    }
  }
}
