// The window store's write-back cache: coalescing, eviction, merged reads, expiry, restore and
// the shared budget. Expected values come from a plain std::map model of the windows, never
// from the store itself.

#include <map>
#include <random>
#include <thread>
#include <tuple>

#include "state/cache_budget.hpp"
#include "state/in_memory_store.hpp"
#include "state/window_cache.hpp"
#include <sluice/state/window_store.hpp>
#include "test_support.hpp"

namespace sluice {
namespace {

using window = std::tuple<std::string, std::int64_t, std::string>; // key, start, value
using model = std::map<std::pair<std::string, std::int64_t>, std::string>;

std::vector<window> collect_windows(std::unique_ptr<window_iterator> it) {
  std::vector<window> out;
  for (; it->valid(); it->next())
    out.emplace_back(std::string{it->key()}, it->window_start(), std::string{it->value()});
  EXPECT_FALSE(it->status().has_value());
  return out;
}

// What fetch_all(from, to) must return: the model's windows ordered by start, then key.
std::vector<window> expected_all(const model& m, std::int64_t from, std::int64_t to) {
  std::vector<window> out;
  for (const auto& [id, value] : m)
    if (id.second >= from && id.second <= to)
      out.emplace_back(id.first, id.second, value);
  std::sort(out.begin(), out.end(), [](const window& a, const window& b) {
    return std::tie(std::get<1>(a), std::get<0>(a)) < std::tie(std::get<1>(b), std::get<0>(b));
  });
  return out;
}

// What fetch(key, from, to) must return.
std::vector<window> expected_key(const model& m, const std::string& key, std::int64_t from, std::int64_t to) {
  std::vector<window> out;
  for (const auto& [id, value] : m)
    if (id.first == key && id.second >= from && id.second <= to)
      out.emplace_back(id.first, id.second, value);
  return out; // the map orders one key's windows by start already
}

class recording_changelog final : public changelog_writer {
public:
  void append(std::string_view key, std::optional<std::string_view> value, std::int64_t) override {
    records.emplace_back(std::string{key}, value ? std::optional<std::string>{std::string{*value}} : std::nullopt);
  }
  std::vector<std::pair<std::string, std::optional<std::string>>> records;
};

// An in-memory store counting the batches and single writes that reach it.
class counting_store final : public key_value_store {
public:
  const std::string& name() const override { return inner_.name(); }
  expected<bool> get_into(std::string_view key, std::string& value) override {
    ++gets;
    return inner_.get_into(key, value);
  }
  expected<void> put(std::string_view key, std::string_view value, std::int64_t ts) override {
    ++writes;
    return inner_.put(key, value, ts);
  }
  expected<void> remove(std::string_view key, std::int64_t ts) override {
    ++writes;
    return inner_.remove(key, ts);
  }
  expected<void> write(const store_batch& batch) override {
    ++writes;
    batch.for_each([&](std::string_view key, auto) {
      if (!key.empty() && key[0] == 'w')
        ++window_writes; // data entries (the index entry and stream time are not counted)
    });
    return inner_.write(batch);
  }
  std::unique_ptr<kv_iterator> scan(const scan_bounds& b) override { return inner_.scan(b); }
  expected<std::uint64_t> approximate_num_entries() override { return inner_.approximate_num_entries(); }
  expected<void> flush() override { return inner_.flush(); }
  std::optional<changelog_offset> checkpoint() const override { return inner_.checkpoint(); }

  int gets = 0, writes = 0, window_writes = 0;

private:
  in_memory_store inner_{"windows"};
};

struct fixture {
  explicit fixture(std::size_t budget_bytes, std::int64_t retention_ms = 1'000'000)
      : budget(std::make_shared<cache_budget>(budget_bytes)) {
    auto s = std::make_unique<counting_store>();
    storage = s.get();
    window_store_options o;
    o.retention_ms = retention_ms;
    o.changelog = &log;
    o.cache = budget;
    o.time_from_puts = false;
    auto ws = window_store::open(std::move(s), o);
    EXPECT_TRUE(ws.has_value());
    store = std::move(ws).value();
  }
  std::shared_ptr<cache_budget> budget;
  recording_changelog log;
  counting_store* storage = nullptr;
  std::unique_ptr<window_store> store;
};

// A fresh uncached store restored from `log` (as a new instance would from the changelog).
std::unique_ptr<window_store> restored(const recording_changelog& log) {
  window_store_options o;
  o.retention_ms = 1'000'000;
  o.time_from_puts = false;
  auto ws = window_store::open(std::make_unique<in_memory_store>("restored"), o);
  EXPECT_TRUE(ws.has_value());
  std::vector<changelog_record> records;
  for (const auto& [k, v] : log.records)
    records.push_back({k, v ? std::optional<std::string_view>{*v} : std::nullopt});
  EXPECT_TRUE((*ws)->restore(records, static_cast<changelog_offset>(records.size()) - 1));
  return std::move(ws).value();
}

TEST(caching_window_store, n_updates_of_one_window_are_one_store_write_and_one_record_at_flush) {
  fixture f{1 << 20};
  const int n = 25;
  std::string value;
  for (int i = 1; i <= n; ++i) {
    value = "count=" + std::to_string(i);
    ASSERT_OK(f.store->put("sensor-1", 60'000, value, i));
  }
  EXPECT_EQ(f.log.records.size(), 0u);
  EXPECT_EQ(f.storage->window_writes, 0);
  std::string read;
  auto found = f.store->fetch_into("sensor-1", 60'000, read);
  ASSERT_OK(found);
  EXPECT_TRUE(*found);
  EXPECT_EQ(read, "count=25");

  ASSERT_OK(f.store->flush());
  ASSERT_EQ(f.log.records.size(), 1u);
  EXPECT_EQ(f.storage->window_writes, 1);
  EXPECT_EQ(f.storage->writes, 1); // one batch: the window and the stream time
  auto decoded = window_store::decode_changelog_key(f.log.records[0].first);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->first, "sensor-1");
  EXPECT_EQ(decoded->second, 60'000);
  EXPECT_EQ(f.log.records[0].second, "count=25");

  // A second flush with nothing new writes no window and logs nothing.
  ASSERT_OK(f.store->flush());
  EXPECT_EQ(f.log.records.size(), 1u);
  EXPECT_EQ(f.storage->window_writes, 1);
}

TEST(caching_window_store, zero_budget_writes_and_logs_every_put) {
  fixture f{0};
  EXPECT_EQ(f.store->cache(), nullptr);
  for (int i = 0; i < 5; ++i)
    ASSERT_OK(f.store->put("k", 0, std::to_string(i), 0));
  EXPECT_EQ(f.log.records.size(), 5u);
  EXPECT_EQ(f.storage->window_writes, 5);
}

TEST(caching_window_store, fetch_merges_cache_and_store_in_window_order) {
  fixture f{1 << 20};
  ASSERT_OK(f.store->put("a", 1000, "a1", 0));
  ASSERT_OK(f.store->put("a", 3000, "a3", 0));
  ASSERT_OK(f.store->put("b", 2000, "b2", 0));
  ASSERT_OK(f.store->put("ab", 2000, "ab2", 0)); // a key sharing a prefix with "a"
  ASSERT_OK(f.store->flush());                   // all four are in the store now, clean in cache
  // Dirty on top of the store: a new window between stored ones, an update, a tombstone.
  ASSERT_OK(f.store->put("a", 2000, "a2", 0));
  ASSERT_OK(f.store->put("a", 3000, "a3'", 0));
  ASSERT_OK(f.store->remove("a", 1000, 0));
  ASSERT_OK(f.store->put("a", 4000, "a4", 0));
  EXPECT_EQ(collect_windows(f.store->fetch("a", 0, 10'000)),
            (std::vector<window>{{"a", 2000, "a2"}, {"a", 3000, "a3'"}, {"a", 4000, "a4"}}));
  EXPECT_EQ(collect_windows(f.store->fetch("a", 2500, 3000)), (std::vector<window>{{"a", 3000, "a3'"}}));
  EXPECT_EQ(collect_windows(f.store->fetch_all(0, 10'000)),
            (std::vector<window>{
              {"a", 2000, "a2"}, {"ab", 2000, "ab2"}, {"b", 2000, "b2"}, {"a", 3000, "a3'"}, {"a", 4000, "a4"}}));
  std::string v;
  auto found = f.store->fetch_into("a", 1000, v);
  ASSERT_OK(found);
  EXPECT_FALSE(*found); // the cached tombstone hides the stored window

  // The same answers once everything is flushed and the cache is gone (a new uncached store
  // over the changelog).
  ASSERT_OK(f.store->flush());
  auto r = restored(f.log);
  EXPECT_EQ(collect_windows(r->fetch_all(0, 10'000)), collect_windows(f.store->fetch_all(0, 10'000)));
}

TEST(caching_window_store, eviction_under_a_small_budget_writes_through_and_reads_stay_correct) {
  // Room for about four windows: most updates evict.
  fixture f{4 * (window_cache::entry_overhead_bytes + 16)};
  model m;
  std::mt19937 rng{7};
  std::uniform_int_distribution<int> key_of{0, 5}, window_of{0, 7}, op_of{0, 9};
  for (int i = 0; i < 2000; ++i) {
    const std::string key = "k" + std::to_string(key_of(rng));
    const std::int64_t start = 1000 * window_of(rng);
    if (op_of(rng) == 0) {
      ASSERT_OK(f.store->remove(key, start, i));
      m.erase({key, start});
    } else {
      const std::string value = "v" + std::to_string(i);
      ASSERT_OK(f.store->put(key, start, value, i));
      m[{key, start}] = value;
    }
    EXPECT_LE(f.budget->used_bytes(), f.budget->max_bytes());
    if (i % 97 == 0) {
      ASSERT_EQ(collect_windows(f.store->fetch(key, 0, 7000)), expected_key(m, key, 0, 7000)) << i;
      ASSERT_EQ(collect_windows(f.store->fetch_all(2000, 5000)), expected_all(m, 2000, 5000)) << i;
    }
    if (i % 500 == 499)
      ASSERT_OK(f.store->flush());
  }
  EXPECT_GT(f.storage->window_writes, 1000); // evictions wrote through
  EXPECT_LT(f.budget->used_bytes(), f.budget->max_bytes() + 1);
  for (const auto& [id, value] : m) {
    std::string v;
    auto found = f.store->fetch_into(id.first, id.second, v);
    ASSERT_OK(found);
    ASSERT_TRUE(*found);
    EXPECT_EQ(v, value);
  }
  ASSERT_OK(f.store->flush());
  EXPECT_EQ(collect_windows(restored(f.log)->fetch_all(0, 7000)), expected_all(m, 0, 7000));
}

TEST(caching_window_store, expired_windows_leave_the_cache_unlogged) {
  fixture f{1 << 20, /*retention_ms=*/1000};
  ASSERT_OK(f.store->put("a", 0, "old", 0));
  ASSERT_OK(f.store->put("b", 500, "old", 0));
  ASSERT_OK(f.store->put("a", 2000, "new", 0));
  EXPECT_EQ(f.store->cache()->size(), 3u);
  f.store->advance_time(2500); // cutoff 1500: windows 0 and 500 are expired
  std::string v;
  auto found = f.store->fetch_into("a", 0, v);
  ASSERT_OK(found);
  EXPECT_FALSE(*found);
  EXPECT_EQ(collect_windows(f.store->fetch_all(-10'000, 10'000)), (std::vector<window>{{"a", 2000, "new"}}));
  ASSERT_OK(f.store->put("c", 100, "late", 0)); // into an expired window: dropped
  EXPECT_EQ(f.store->dropped_expired(), 1u);
  ASSERT_OK(f.store->flush());
  ASSERT_EQ(f.log.records.size(), 1u); // only the live window was written and logged
  EXPECT_EQ(window_store::decode_changelog_key(f.log.records[0].first)->second, 2000);
  EXPECT_EQ(f.store->cache()->size(), 1u);
  EXPECT_EQ(f.storage->window_writes, 1);
}

TEST(caching_window_store, restore_to_the_last_flush_gives_the_state_of_that_flush) {
  fixture f{1 << 20};
  model at_flush, m;
  std::mt19937 rng{11};
  std::uniform_int_distribution<int> key_of{0, 30}, window_of{0, 4};
  std::size_t log_at_flush = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string key = "host-" + std::to_string(key_of(rng));
    const std::int64_t start = 30'000 * window_of(rng);
    auto& sum = m[{key, start}];
    sum = std::to_string((sum.empty() ? 0 : std::stoll(sum)) + i);
    ASSERT_OK(f.store->put(key, start, sum, i));
    if (i % 700 == 699) { // a commit
      ASSERT_OK(f.store->flush());
      at_flush = m;
      log_at_flush = f.log.records.size();
    }
  }
  // Coalesced: at most one record per window and flush (four flushes), far fewer than puts.
  EXPECT_LE(log_at_flush, 4 * m.size());
  // Work after the last flush is not in the changelog (no eviction with this budget).
  EXPECT_EQ(f.log.records.size(), log_at_flush);
  EXPECT_EQ(collect_windows(restored(f.log)->fetch_all(0, 200'000)), expected_all(at_flush, 0, 200'000));
}

TEST(caching_window_store, stores_sharing_a_budget_get_a_fair_share_and_idle_ones_release) {
  // Windows of key "a"/"b" with value "v" charge overhead + 2 bytes: the budget holds 20 of
  // them, the fair share of each of the two stores 10.
  auto budget = std::make_shared<cache_budget>(20 * (window_cache::entry_overhead_bytes + 8));
  auto open = [&](recording_changelog& log) {
    window_store_options o;
    o.changelog = &log;
    o.cache = budget;
    return std::move(window_store::open(std::make_unique<in_memory_store>("w"), o)).value();
  };
  recording_changelog log_a, log_b;
  auto a = open(log_a);
  auto b = open(log_b);
  EXPECT_EQ(budget->fair_share(), budget->max_bytes() / 2);
  for (int i = 0; i < 15; ++i) // a alone: uses more than its share of the free budget
    ASSERT_OK(a->put("a", i, "v", 0));
  for (int i = 0; i < 15; ++i) // b may still grow to its share; beyond it, it evicts its own
    ASSERT_OK(b->put("b", i, "v", 0));
  EXPECT_EQ(a->cache()->size(), 15u);
  EXPECT_EQ(b->cache()->size(), 10u);
  EXPECT_EQ(log_b.records.size(), 5u); // b's five oldest, evicted dirty
  EXPECT_EQ(budget->used_bytes(), a->cache()->bytes() + b->cache()->bytes());
  EXPECT_TRUE(budget->exceeded()); // until a writes or flushes
  // At its flush (a commit) a gives back what it holds above its share of the full budget.
  ASSERT_OK(a->flush());
  EXPECT_EQ(log_a.records.size(), 15u);
  EXPECT_EQ(a->cache()->size(), 10u);
  EXPECT_FALSE(budget->exceeded());
  // a flushes again without a write in between: idle, it empties its cache.
  ASSERT_OK(a->flush());
  EXPECT_EQ(a->cache()->size(), 0u);
  EXPECT_EQ(budget->used_bytes(), b->cache()->bytes());
  for (int i = 0; i < 15; ++i) { // every window is still there, from the storage
    std::string v;
    auto found = a->fetch_into("a", i, v);
    ASSERT_OK(found);
    EXPECT_TRUE(*found) << i;
  }
  b.reset();
  a.reset();
  EXPECT_EQ(budget->used_bytes(), 0u);
  EXPECT_EQ(budget->fair_share(), budget->max_bytes());
}

TEST(caching_window_store, stores_on_different_threads_share_a_budget) {
  auto budget = std::make_shared<cache_budget>(64 * (window_cache::entry_overhead_bytes + 16));
  constexpr int threads = 4;
  std::vector<std::unique_ptr<window_store>> stores;
  for (int t = 0; t < threads; ++t) {
    window_store_options o;
    o.cache = budget;
    stores.push_back(std::move(window_store::open(std::make_unique<in_memory_store>("w"), o)).value());
  }
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      auto& s = *stores[static_cast<size_t>(t)];
      for (int i = 0; i < 20'000; ++i) {
        std::string value(static_cast<size_t>(i % 13), 'x'); // sizes change: the shared count moves
        (void)s.put("k" + std::to_string(i % 50), i % 7, value, 0);
        if (i % 5000 == 0)
          (void)s.flush();
      }
    });
  for (auto& w : workers)
    w.join();
  std::size_t sum = 0;
  for (auto& s : stores)
    sum += s->cache()->bytes();
  EXPECT_EQ(budget->used_bytes(), sum);
  for (auto& s : stores) { // the last value of each window survived eviction and caching
    std::string v;
    auto found = s->fetch_into("k49", 19'999 % 7, v);
    ASSERT_OK(found);
    ASSERT_TRUE(*found);
    EXPECT_EQ(v, std::string(19'999 % 13, 'x'));
  }
  stores.clear();
  EXPECT_EQ(budget->used_bytes(), 0u);
}

} // namespace
} // namespace sluice
