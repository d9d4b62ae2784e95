// sluice-broker --rtt-ms: every response is delayed by the round-trip time, so latency effects
// show on this machine before a real cluster shows them to users.
#include "child_process.hpp"
#include "kafka_test_client.hpp"
#include "paths.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using sluice::test::child_process;

TEST(sluice_broker, rtt_ms_delays_every_response) {
  child_process broker{sluice::test::built_binary("sluice-broker"),
                       {"--port", "0", "--rtt-ms", "250", "--topic", "t:2"}};
  const auto line = broker.first_stdout_line(10s);
  ASSERT_TRUE(line && line->starts_with("bootstrap.servers=")) << broker.stderr_text();
  const sluice::test::kafka_test_client client{line->substr(18)};
  EXPECT_TRUE(broker.wait_for_output("round-trip time 250 ms", 5s, true)) << broker.stderr_text();

  // A fresh client needs at least ApiVersions and Metadata: two delayed responses.
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(client.partition_count("t"), 2);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 500ms);

  const auto t1 = std::chrono::steady_clock::now();
  client.produce("t", std::vector<std::pair<std::string, std::string>>{{"k", "v"}});
  EXPECT_GE(std::chrono::steady_clock::now() - t1, 500ms); // connect + produce, each delayed
}
