// The put paths reuse their buffers: once warmed up, updating an existing key allocates nothing
// in the cache, and a LevelDB put allocates far less than once per record (only LevelDB's
// memtable arena blocks remain).

#include <leveldb/env.h>
#include <leveldb/helpers/memenv.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "state/caching_store.hpp"
#include "state/in_memory_store.hpp"
#include "state/leveldb_store.hpp"
#include <sluice/state/window_store.hpp>
#include "test_support.hpp"

#include "../allocation_counter.hpp"

namespace sluice {
namespace {

using sluice::test::count_allocations;

TEST(allocation, cached_updates_of_existing_keys_do_not_allocate) {
  caching_store_options o;
  o.max_bytes = 1 << 20;
  caching_store s{std::make_unique<in_memory_store>("s"), o};
  const std::string value(64, 'v');
  ASSERT_OK(s.put("sensor-17", value, 0));
  std::string out;
  ASSERT_OK(s.get_into("sensor-17", out)); // the caller's buffer grows once
  const auto n = count_allocations([&] {
    for (int i = 0; i < 1000; ++i) {
      (void)s.put("sensor-17", value, i);
      (void)s.get_into("sensor-17", out);
    }
  });
  EXPECT_EQ(n, 0u);
}

TEST(allocation, leveldb_puts_allocate_less_than_once_per_record) {
  std::unique_ptr<leveldb::Env> env{leveldb::NewMemEnv(leveldb::Env::Default())};
  leveldb_store_options o;
  o.env = env.get();
  auto opened = leveldb_store::open("/alloc", "s", o);
  ASSERT_OK(opened);
  auto& store = *opened->store;
  const std::string value(32, 'v');
  std::string key = "key-000000";
  ASSERT_OK(store.put(key, value, 0)); // warm up the reused buffers
  const int records = 2000;
  const auto n = count_allocations([&] {
    for (int i = 0; i < records; ++i) {
      key[4 + i % 6] = static_cast<char>('0' + i % 10);
      (void)store.put(key, value, 0);
    }
  });
  EXPECT_LT(n, static_cast<std::size_t>(records / 4)) << n << " allocations";
}

TEST(allocation, window_puts_reuse_their_encoding_buffers) {
  window_store_options o;
  o.retention_ms = 1'000'000'000;
  auto ws = window_store::open(std::make_unique<in_memory_store>("w"), o);
  ASSERT_OK(ws);
  const std::string value(16, 'v');
  ASSERT_OK((*ws)->put("k", 1000, value, 0));
  const auto n = count_allocations([&] {
    for (int i = 0; i < 1000; ++i)
      (void)(*ws)->put("k", 1000, value, 0); // same window: in-memory map updates in place
  });
  EXPECT_EQ(n, 0u);
}

TEST(allocation, cached_window_updates_and_reads_do_not_allocate) {
  window_store_options o;
  o.retention_ms = 1'000'000'000;
  o.cache = std::make_shared<cache_budget>(1 << 20);
  auto ws = window_store::open(std::make_unique<in_memory_store>("w"), o);
  ASSERT_OK(ws);
  const std::string value(48, 'v'); // longer than the small-string buffer
  std::string out;
  ASSERT_OK((*ws)->put("sensor-17", 1000, value, 0));
  ASSERT_OK((*ws)->fetch_into("sensor-17", 1000, out)); // the caller's buffer grows once
  const auto n = count_allocations([&] {
    for (int i = 0; i < 1000; ++i) {
      (void)(*ws)->fetch_into("sensor-17", 1000, out);
      (void)(*ws)->put("sensor-17", 1000, value, i);
    }
  });
  EXPECT_EQ(n, 0u);
}

} // namespace
} // namespace sluice
