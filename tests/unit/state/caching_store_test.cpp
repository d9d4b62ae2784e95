// caching_store: coalescing, flush semantics, eviction, write-through, merged reads.

#include "state/caching_store.hpp"
#include "state/in_memory_store.hpp"
#include "test_support.hpp"

namespace sluice {
namespace {

using test::collect;
using test::kv_pairs;

struct change {
  std::string key;
  std::optional<std::string> value;
  std::int64_t timestamp_ms;
  bool operator==(const change&) const = default;
};

class recording_changelog final : public changelog_writer {
public:
  void append(std::string_view key, std::optional<std::string_view> value, std::int64_t timestamp_ms) override {
    records.push_back(
      {std::string{key}, value ? std::optional<std::string>{std::string{*value}} : std::nullopt, timestamp_ms});
  }
  std::vector<change> records;
};

// An in-memory store whose writes can be made to fail.
class flaky_store final : public key_value_store {
public:
  bool fail = false;
  in_memory_store inner{"flaky"};
  const std::string& name() const override { return inner.name(); }
  expected<bool> get_into(std::string_view k, std::string& v) override { return inner.get_into(k, v); }
  expected<void> put(std::string_view k, std::string_view v, std::int64_t t) override {
    if (fail)
      return error{errc::io_error, "injected"};
    return inner.put(k, v, t);
  }
  expected<void> remove(std::string_view k, std::int64_t t) override {
    if (fail)
      return error{errc::io_error, "injected"};
    return inner.remove(k, t);
  }
  expected<void> write(const store_batch& b) override {
    if (fail)
      return error{errc::io_error, "injected"};
    return inner.write(b);
  }
  std::unique_ptr<kv_iterator> scan(const scan_bounds& b) override { return inner.scan(b); }
  expected<std::uint64_t> approximate_num_entries() override { return inner.approximate_num_entries(); }
  expected<void> flush() override { return ok(); }
  std::optional<changelog_offset> checkpoint() const override { return inner.checkpoint(); }
};

class caching_store_test : public ::testing::Test {
protected:
  caching_store& make(std::size_t max_bytes) {
    caching_store_options o;
    o.max_bytes = max_bytes;
    o.changelog = &changelog_;
    o.listener = [this](std::string_view k, std::optional<std::string_view> v, std::int64_t t) {
      forwarded_.push_back({std::string{k}, v ? std::optional<std::string>{std::string{*v}} : std::nullopt, t});
    };
    auto inner = std::make_unique<in_memory_store>("agg");
    inner_ = inner.get();
    store_ = std::make_unique<caching_store>(std::move(inner), std::move(o));
    return *store_;
  }
  std::optional<std::string> inner_value(std::string_view key) {
    auto v = inner_->get(key);
    EXPECT_TRUE(v.has_value());
    return v ? *v : std::nullopt;
  }
  recording_changelog changelog_;
  std::vector<change> forwarded_;
  in_memory_store* inner_ = nullptr;
  std::unique_ptr<caching_store> store_;
};

TEST_F(caching_store_test, ten_writes_to_one_key_become_one_changelog_append_on_flush) {
  auto& s = make(1 << 20);
  for (int i = 1; i <= 10; ++i)
    ASSERT_OK(s.put("sensor-1", "count=" + std::to_string(i), 1000 + i));
  EXPECT_TRUE(changelog_.records.empty());
  EXPECT_TRUE(forwarded_.empty());
  EXPECT_FALSE(inner_value("sensor-1").has_value()); // not yet written down
  auto v = s.get("sensor-1");
  ASSERT_OK(v);
  EXPECT_EQ(v->value_or(""), "count=10"); // reads see the cache
  EXPECT_EQ(s.dirty_entries(), 1u);
  ASSERT_OK(s.flush());
  const std::vector<change> expected{{"sensor-1", "count=10", 1010}};
  EXPECT_EQ(changelog_.records, expected);
  EXPECT_EQ(forwarded_, expected);
  EXPECT_EQ(inner_value("sensor-1"), "count=10");
  EXPECT_EQ(s.dirty_entries(), 0u);
  ASSERT_OK(s.flush()); // nothing dirty: nothing logged again
  EXPECT_EQ(changelog_.records.size(), 1u);
}

TEST_F(caching_store_test, flush_forwards_in_first_dirty_order_with_tombstones) {
  auto& s = make(1 << 20);
  ASSERT_OK(inner_->put("old", "x", 0));
  ASSERT_OK(s.put("z", "1", 1));
  ASSERT_OK(s.put("a", "2", 2));
  ASSERT_OK(s.remove("old", 3));
  ASSERT_OK(s.put("z", "3", 4));
  auto old = s.get("old");
  ASSERT_OK(old);
  EXPECT_FALSE(old->has_value()); // the cached tombstone hides the inner value
  EXPECT_EQ(collect(s.all()), (kv_pairs{{"a", "2"}, {"z", "3"}}));
  ASSERT_OK(s.flush());
  const std::vector<change> expected{{"z", "3", 4}, {"a", "2", 2}, {"old", std::nullopt, 3}};
  EXPECT_EQ(changelog_.records, expected);
  EXPECT_EQ(forwarded_, expected);
  EXPECT_FALSE(inner_value("old").has_value());
}

TEST_F(caching_store_test, eviction_under_small_budget_flushes_only_the_victim) {
  // Room for two entries of this size, not three.
  const std::size_t entry = caching_store::entry_overhead_bytes + 2 + 5;
  auto& s = make(2 * entry + entry / 2);
  ASSERT_OK(s.put("k1", "v1-aa", 1));
  ASSERT_OK(s.put("k2", "v2-aa", 2));
  EXPECT_TRUE(changelog_.records.empty());
  ASSERT_OK(s.put("k1", "v1-bb", 3)); // touch k1: k2 becomes least recently used
  ASSERT_OK(s.put("k3", "v3-aa", 4)); // over budget: evicts k2
  EXPECT_EQ(changelog_.records, (std::vector<change>{{"k2", "v2-aa", 2}}));
  EXPECT_EQ(forwarded_.size(), 1u);
  EXPECT_EQ(inner_value("k2"), "v2-aa");
  EXPECT_FALSE(inner_value("k1").has_value());
  EXPECT_LE(s.cached_bytes(), 2 * entry + entry / 2);
  EXPECT_EQ(s.cached_entries(), 2u);
  // The evicted key is still readable (from the inner store) and all keys merge in scans.
  EXPECT_EQ(collect(s.all()), (kv_pairs{{"k1", "v1-bb"}, {"k2", "v2-aa"}, {"k3", "v3-aa"}}));
  ASSERT_OK(s.flush());
  EXPECT_EQ(changelog_.records, (std::vector<change>{{"k2", "v2-aa", 2}, {"k1", "v1-bb", 3}, {"k3", "v3-aa", 4}}));
}

TEST_F(caching_store_test, clean_entries_are_evicted_without_logging) {
  const std::size_t entry = caching_store::entry_overhead_bytes + 2 + 2;
  auto& s = make(2 * entry);
  for (auto k : {"r1", "r2", "r3", "r4"})
    ASSERT_OK(inner_->put(k, "vv", 0));
  for (auto k : {"r1", "r2", "r3", "r4"}) {
    auto v = s.get(k);
    ASSERT_OK(v);
    EXPECT_EQ(v->value_or(""), "vv");
  }
  EXPECT_EQ(s.cached_entries(), 2u);
  EXPECT_TRUE(changelog_.records.empty());
}

TEST_F(caching_store_test, zero_budget_writes_straight_through) {
  auto& s = make(0);
  for (int i = 1; i <= 10; ++i)
    ASSERT_OK(s.put("k", std::to_string(i), i));
  ASSERT_OK(s.remove("k", 11));
  EXPECT_EQ(changelog_.records.size(), 11u);
  EXPECT_EQ(forwarded_.size(), 11u);
  EXPECT_EQ(changelog_.records[9], (change{"k", "10", 10}));
  EXPECT_EQ(changelog_.records[10], (change{"k", std::nullopt, 11}));
  EXPECT_EQ(s.cached_entries(), 0u);
  EXPECT_FALSE(inner_value("k").has_value());
}

TEST_F(caching_store_test, failed_flush_keeps_entries_dirty_and_logs_nothing) {
  auto inner = std::make_unique<flaky_store>();
  auto* flaky = inner.get();
  caching_store_options o;
  o.changelog = &changelog_;
  caching_store s{std::move(inner), o};
  ASSERT_OK(s.put("a", "1", 0));
  flaky->fail = true;
  auto r = s.flush();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, errc::io_error);
  EXPECT_TRUE(changelog_.records.empty());
  EXPECT_EQ(s.dirty_entries(), 1u);
  flaky->fail = false;
  ASSERT_OK(s.flush());
  EXPECT_EQ(changelog_.records, (std::vector<change>{{"a", "1", 0}}));
}

TEST_F(caching_store_test, listener_may_read_but_not_write_the_store) {
  caching_store* self = nullptr;
  std::vector<std::string> seen;
  std::vector<errc> errors;
  caching_store_options o;
  o.listener = [&](std::string_view k, std::optional<std::string_view>, std::int64_t) {
    auto v = self->get(k);
    seen.push_back(v && *v ? **v : "<none>");
    auto w = self->put("other", "x", 0);
    if (!w)
      errors.push_back(w.error().code);
  };
  caching_store s{std::make_unique<in_memory_store>("s"), o};
  self = &s;
  ASSERT_OK(s.put("a", "1", 0));
  ASSERT_OK(s.flush());
  EXPECT_EQ(seen, (std::vector<std::string>{"1"}));
  EXPECT_EQ(errors, (std::vector<errc>{errc::invalid_argument}));
}

TEST_F(caching_store_test, restore_through_cache_drops_stale_cached_entries) {
  auto& s = make(1 << 20);
  ASSERT_OK(s.put("k", "cached", 0));
  std::vector<changelog_record> records{{"k", "restored"}};
  ASSERT_OK(s.restore(records, 3));
  auto v = s.get("k");
  ASSERT_OK(v);
  EXPECT_EQ(v->value_or(""), "restored");
  EXPECT_EQ(s.checkpoint(), 3);
  // The pending write was flushed (and logged) before the restore batch.
  EXPECT_EQ(changelog_.records, (std::vector<change>{{"k", "cached", 0}}));
}

TEST(caching_store_budget, stores_sharing_a_budget_get_a_fair_share_and_idle_ones_release) {
  const std::size_t entry = caching_store::entry_overhead_bytes + 2 + 1; // key "kN", value "v"
  auto budget = std::make_shared<cache_budget>(8 * entry);               // fair share: 4 entries
  recording_changelog log_a, log_b;
  auto open = [&](recording_changelog& log) {
    caching_store_options o;
    o.budget = budget;
    o.changelog = &log;
    return std::make_unique<caching_store>(std::make_unique<in_memory_store>("s"), o);
  };
  auto a = open(log_a);
  auto b = open(log_b);
  for (int i = 0; i < 6; ++i)
    ASSERT_OK(a->put("k" + std::to_string(i), "v", 0));
  for (int i = 0; i < 6; ++i)
    ASSERT_OK(b->put("k" + std::to_string(i), "v", 0));
  EXPECT_EQ(a->cached_entries(), 6u); // b grew to its share, then evicted its own entries
  EXPECT_EQ(b->cached_entries(), 4u);
  EXPECT_EQ(log_a.records.size(), 0u);
  EXPECT_EQ(log_b.records.size(), 2u); // b's two oldest, evicted dirty
  EXPECT_EQ(budget->used_bytes(), 10 * entry);
  ASSERT_OK(a->flush()); // a commit: a shrinks to its share of the full budget
  EXPECT_EQ(log_a.records.size(), 6u);
  EXPECT_EQ(a->cached_entries(), 4u);
  EXPECT_EQ(budget->used_bytes(), 8 * entry);
  ASSERT_OK(a->flush()); // nothing written since the last flush: idle, a gives its bytes back
  EXPECT_EQ(a->cached_entries(), 0u);
  EXPECT_EQ(budget->used_bytes(), 4 * entry);
  auto v = a->get("k0");
  ASSERT_OK(v);
  EXPECT_EQ(*v, "v");
  a.reset();
  b.reset();
  EXPECT_EQ(budget->used_bytes(), 0u);
}

} // namespace
} // namespace sluice
