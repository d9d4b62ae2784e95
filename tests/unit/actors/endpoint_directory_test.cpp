// The entries of the endpoint directory, who holds a store and who runs a task, and where
// standbys go, without a broker.
#include "actors/endpoint_directory.hpp"
#include "actors/standby_tasks.hpp"

#include <gtest/gtest.h>

#include <map>

using namespace sluice;

namespace {

instance_endpoint entry(std::string id, std::string server, std::set<std::string> tasks, store_tasks stores,
                        int64_t offset) {
  return {std::move(id), std::move(server), {std::move(tasks), std::move(stores)}, offset};
}

} // namespace

TEST(endpoint_directory, an_entry_reads_back_as_written) {
  const instance_assignment a{{"0_1", "0_3", "1_0"},
                              {{"counts-store", {"0_1", "0_3"}}, {"per-10s-store", {"1_0"}}, {"empty", {}}}};
  auto back = decode_endpoint("host-1:8080", encode_endpoint("host-1:8080", a));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->id, "host-1:8080");
  EXPECT_EQ(back->server, "host-1:8080");
  EXPECT_EQ(back->assignment, a);
  back = decode_endpoint("host-2-0123", encode_endpoint("", {}));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->server, "");
  EXPECT_EQ(back->assignment, instance_assignment{});
}

TEST(endpoint_directory, a_malformed_entry_is_none) {
  EXPECT_FALSE(decode_endpoint("a", ""));
  EXPECT_FALSE(decode_endpoint("a", "{not json"));
  EXPECT_FALSE(decode_endpoint("a", "{\"server\":\"\",\"tasks\":[],\"stores\":[]}"));
  EXPECT_FALSE(decode_endpoint("a", "{\"server\":\"\",\"tasks\":[1],\"stores\":{}}"));
  EXPECT_FALSE(decode_endpoint("a", "{\"tasks\":[],\"stores\":{}}"));
}

TEST(endpoint_directory, holders_are_the_latest_claimers_of_a_task_other_than_this_instance) {
  const std::vector<instance_endpoint> entries{
    entry("a:1", "a:1", {"0_0", "0_1"}, {{"counts", {"0_0", "0_1"}}}, 10),
    entry("b:1", "b:1", {"0_2", "1_0"}, {{"counts", {"0_2"}}, {"other", {"1_0"}}}, 11),
    entry("dead:1", "dead:1", {"0_1", "0_3"}, {{"counts", {"0_1", "0_3"}}}, 5), // 0_1 moved to a since
    entry("gone:1", "gone:1", {"0_2"}, {{"counts", {"0_2"}}}, 3),               // its only task moved to b
    entry("no-http", "", {"2_0"}, {{"third", {"2_0"}}}, 12),                    // cannot be asked
  };
  EXPECT_EQ(holders_of(entries, "counts", "a:1"), (std::vector<std::string>{"b:1", "dead:1"}));
  EXPECT_EQ(holders_of(entries, "counts", "b:1"), (std::vector<std::string>{"a:1", "dead:1"}));
  EXPECT_EQ(holders_of(entries, "other", "a:1"), (std::vector<std::string>{"b:1"}));
  EXPECT_TRUE(holders_of(entries, "other", "b:1").empty());
  EXPECT_TRUE(holders_of(entries, "third", "a:1").empty());
  EXPECT_TRUE(holders_of(entries, "no-such-store", "a:1").empty());
  EXPECT_EQ(active_owners(entries),
            (std::map<std::string, std::string>{
              {"0_0", "a:1"}, {"0_1", "a:1"}, {"0_2", "b:1"}, {"0_3", "dead:1"}, {"1_0", "b:1"}, {"2_0", "no-http"}}));
}

TEST(standby_holders, never_the_active_instance_and_as_many_as_asked) {
  const std::vector<std::string> instances{"a", "b", "c", "d"};
  for (const auto* task : {"0_0", "0_1", "1_7"}) {
    for (const auto& active : instances) {
      const auto one = standby_holders(task, active, instances, 1);
      ASSERT_EQ(one.size(), 1u);
      EXPECT_NE(one.front(), active);
      const auto all = standby_holders(task, active, instances, 5);
      EXPECT_EQ(all.size(), 3u); // every instance but the active one
      EXPECT_EQ(std::count(all.begin(), all.end(), active), 0);
      EXPECT_EQ(all.front(), one.front()); // ranked: more replicas add holders, never move the first
    }
  }
  EXPECT_TRUE(standby_holders("0_0", "a", {"a"}, 1).empty());
  EXPECT_TRUE(standby_holders("0_0", "a", instances, 0).empty());
}

TEST(standby_holders, an_instance_that_comes_or_goes_moves_only_its_own_standbys) {
  const std::vector<std::string> before{"a", "b", "c", "d"}, after{"a", "b", "c", "d", "e"};
  int moved = 0;
  for (int p = 0; p < 200; ++p) {
    const auto task = "0_" + std::to_string(p);
    const auto was = standby_holders(task, "a", before, 1).front();
    const auto is = standby_holders(task, "a", after, 1).front();
    if (was != is) {
      EXPECT_EQ(is, "e") << task; // only to the newcomer
      ++moved;
    }
  }
  EXPECT_GT(moved, 20); // about a quarter (50 of 200) go to it
  EXPECT_LT(moved, 90);
}
