// Contract tests run against every key_value_store implementation.

#include <leveldb/env.h>
#include <leveldb/helpers/memenv.h>

#include <functional>

#include "state/caching_store.hpp"
#include "state/in_memory_store.hpp"
#include "state/leveldb_store.hpp"
#include "test_support.hpp"

namespace sluice {
namespace {

using test::collect;
using test::kv_pairs;

struct store_factory {
  const char* label;
  std::function<std::unique_ptr<key_value_store>()> make;
};

class kv_store_contract : public ::testing::TestWithParam<store_factory> {
protected:
  void SetUp() override { store_ = GetParam().make(); }
  std::unique_ptr<key_value_store> store_;
};

// The memenv outlives all test stores of this binary.
leveldb::Env* mem_env() {
  static std::unique_ptr<leveldb::Env> env{leveldb::NewMemEnv(leveldb::Env::Default())};
  return env.get();
}

std::unique_ptr<key_value_store> open_leveldb(const std::filesystem::path& p, leveldb::Env* env) {
  leveldb_store_options o;
  o.env = env;
  auto opened = leveldb_store::open(p, "kv", o);
  if (!opened)
    throw std::runtime_error(opened.error().message);
  return std::move(opened.value().store);
}

std::unique_ptr<key_value_store> memenv_leveldb() {
  static int n = 0;
  return open_leveldb("/mem/contract-" + std::to_string(n++), mem_env());
}

// Keeps temp dirs alive for the whole run; removed at exit.
std::unique_ptr<key_value_store> disk_leveldb() {
  static std::vector<std::unique_ptr<test::temp_dir>> dirs;
  dirs.push_back(std::make_unique<test::temp_dir>());
  return open_leveldb(dirs.back()->path() / "kv", nullptr);
}

INSTANTIATE_TEST_SUITE_P(
  all_stores, kv_store_contract,
  ::testing::Values(store_factory{"in_memory", [] { return std::make_unique<in_memory_store>("kv"); }},
                    store_factory{"leveldb_memenv", memenv_leveldb}, store_factory{"leveldb_disk", disk_leveldb},
                    store_factory{"caching_over_memory",
                                  [] {
                                    caching_store_options o;
                                    o.max_bytes = 1 << 20;
                                    return std::make_unique<caching_store>(std::make_unique<in_memory_store>("kv"), o);
                                  }},
                    store_factory{"caching_over_leveldb_tiny_cache",
                                  [] {
                                    caching_store_options o;
                                    o.max_bytes = 300; // a couple of entries: exercises eviction
                                    return std::make_unique<caching_store>(memenv_leveldb(), o);
                                  }},
                    store_factory{"write_through_over_leveldb",
                                  [] {
                                    caching_store_options o;
                                    o.max_bytes = 0;
                                    return std::make_unique<caching_store>(memenv_leveldb(), o);
                                  }}),
  [](const auto& info) { return std::string{info.param.label}; });

TEST_P(kv_store_contract, put_get_overwrite) {
  EXPECT_EQ(store_->name(), "kv");
  auto missing = store_->get("a");
  ASSERT_OK(missing);
  EXPECT_FALSE(missing->has_value());
  ASSERT_OK(store_->put("a", "1", 0));
  ASSERT_OK(store_->put("a", "2", 0));
  ASSERT_OK(store_->put(std::string_view{"\0b", 2}, std::string_view{"\0\xff", 2}, 0));
  auto a = store_->get("a");
  ASSERT_OK(a);
  EXPECT_EQ(a->value_or("<none>"), "2");
  std::string v;
  auto found = store_->get_into(std::string_view{"\0b", 2}, v);
  ASSERT_OK(found);
  EXPECT_TRUE(*found);
  EXPECT_EQ(v, std::string("\0\xff", 2));
  // Empty values are values, not tombstones.
  ASSERT_OK(store_->put("empty", "", 0));
  auto e = store_->get("empty");
  ASSERT_OK(e);
  ASSERT_TRUE(e->has_value());
  EXPECT_EQ(**e, "");
}

TEST_P(kv_store_contract, tombstones_hide_keys_everywhere) {
  ASSERT_OK(store_->put("a", "1", 0));
  ASSERT_OK(store_->put("b", "2", 0));
  ASSERT_OK(store_->flush());
  ASSERT_OK(store_->remove("a", 0));
  ASSERT_OK(store_->remove("never-existed", 0));
  auto a = store_->get("a");
  ASSERT_OK(a);
  EXPECT_FALSE(a->has_value());
  EXPECT_EQ(collect(store_->all()), (kv_pairs{{"b", "2"}}));
  ASSERT_OK(store_->flush());
  EXPECT_EQ(collect(store_->all()), (kv_pairs{{"b", "2"}}));
  auto n = store_->approximate_num_entries();
  ASSERT_OK(n);
  EXPECT_EQ(*n, 1u);
}

TEST_P(kv_store_contract, range_prefix_and_all_are_in_key_order) {
  for (auto k : {"b2", "a", "b1", "c", "b", "b\xff", "ba"})
    ASSERT_OK(store_->put(k, std::string{"v-"} + k, 0));
  ASSERT_OK(store_->flush());
  ASSERT_OK(store_->put("b3", "v-b3", 0)); // possibly only in a cache
  EXPECT_EQ(collect(store_->range("b", "b2")), (kv_pairs{{"b", "v-b"}, {"b1", "v-b1"}, {"b2", "v-b2"}}));
  EXPECT_EQ(collect(store_->range("b1", "b1")), (kv_pairs{{"b1", "v-b1"}}));
  EXPECT_TRUE(collect(store_->range("c", "a")).empty());
  EXPECT_EQ(
    collect(store_->prefix_scan("b")),
    (kv_pairs{{"b", "v-b"}, {"b1", "v-b1"}, {"b2", "v-b2"}, {"b3", "v-b3"}, {"ba", "v-ba"}, {"b\xff", "v-b\xff"}}));
  auto everything = collect(store_->all());
  ASSERT_EQ(everything.size(), 8u);
  EXPECT_EQ(everything.front().first, "a");
  EXPECT_EQ(everything.back().first, "c");
  EXPECT_TRUE(std::is_sorted(everything.begin(), everything.end()));
}

TEST_P(kv_store_contract, checkpoint_and_restore) {
  EXPECT_FALSE(store_->checkpoint().has_value());
  ASSERT_OK(store_->put("stale", "x", 0));
  ASSERT_OK(store_->commit_checkpoint(41));
  EXPECT_EQ(store_->checkpoint(), 41);
  std::vector<changelog_record> records{{"k1", "v1"}, {"k2", "v2"}, {"k1", "v1b"}, {"stale", std::nullopt}};
  ASSERT_OK(store_->restore(records, 45));
  EXPECT_EQ(store_->checkpoint(), 45);
  EXPECT_EQ(collect(store_->all()), (kv_pairs{{"k1", "v1b"}, {"k2", "v2"}}));
}

TEST_P(kv_store_contract, batch_applies_in_order) {
  store_batch batch;
  batch.put("x", "1");
  batch.remove("x");
  batch.put("y", "2");
  batch.put("y", "3");
  EXPECT_EQ(batch.size(), 4u);
  ASSERT_OK(store_->write(batch));
  EXPECT_EQ(collect(store_->all()), (kv_pairs{{"y", "3"}}));
  EXPECT_FALSE(store_->checkpoint().has_value()); // no checkpoint in the batch
}

} // namespace
} // namespace sluice
