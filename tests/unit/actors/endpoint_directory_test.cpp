// The entries of the endpoint directory and who holds a store, without a broker.
#include "actors/endpoint_directory.hpp"

#include <gtest/gtest.h>

using namespace sluice;

TEST(endpoint_directory, an_entry_reads_back_as_written) {
  const store_tasks stores{{"counts-store", {"0_1", "0_3"}}, {"per-10s-store", {"1_0"}}, {"empty", {}}};
  EXPECT_EQ(decode_endpoint(encode_endpoint(stores)), stores);
  EXPECT_EQ(decode_endpoint(encode_endpoint({})), store_tasks{});
}

TEST(endpoint_directory, a_malformed_entry_is_none) {
  EXPECT_FALSE(decode_endpoint(""));
  EXPECT_FALSE(decode_endpoint("{not json"));
  EXPECT_FALSE(decode_endpoint("{\"stores\":[]}"));
  EXPECT_FALSE(decode_endpoint("{\"stores\":{\"s\":[1]}}"));
}

TEST(endpoint_directory, holders_are_the_latest_claimers_of_a_task_other_than_this_instance) {
  const std::vector<instance_endpoint> entries{
    {"a:1", {{"counts", {"0_0", "0_1"}}}, 10},
    {"b:1", {{"counts", {"0_2"}}, {"other", {"1_0"}}}, 11},
    {"dead:1", {{"counts", {"0_1", "0_3"}}}, 5}, // died; 0_1 moved to a since, 0_3 not claimed again
    {"gone:1", {{"counts", {"0_2"}}}, 3},        // died; its only task moved to b
  };
  EXPECT_EQ(holders_of(entries, "counts", "a:1"), (std::vector<std::string>{"b:1", "dead:1"}));
  EXPECT_EQ(holders_of(entries, "counts", "b:1"), (std::vector<std::string>{"a:1", "dead:1"}));
  EXPECT_EQ(holders_of(entries, "other", "a:1"), (std::vector<std::string>{"b:1"}));
  EXPECT_TRUE(holders_of(entries, "other", "b:1").empty());
  EXPECT_TRUE(holders_of(entries, "no-such-store", "a:1").empty());
}
