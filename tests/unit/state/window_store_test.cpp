// window_store: window order, key isolation, retention expiry, persistence, restore, logging.

#include <leveldb/env.h>
#include <leveldb/helpers/memenv.h>

#include <limits>
#include <tuple>

#include "state/in_memory_store.hpp"
#include "state/leveldb_store.hpp"
#include <sluice/state/window_store.hpp>
#include "test_support.hpp"

namespace sluice {
namespace {

using window = std::tuple<std::string, std::int64_t, std::string>; // key, start, value

std::vector<window> collect_windows(std::unique_ptr<window_iterator> it) {
  std::vector<window> out;
  for (; it->valid(); it->next())
    out.emplace_back(std::string{it->key()}, it->window_start(), std::string{it->value()});
  EXPECT_FALSE(it->status().has_value());
  return out;
}

class recording_changelog final : public changelog_writer {
public:
  void append(std::string_view key, std::optional<std::string_view> value, std::int64_t) override {
    records.emplace_back(std::string{key}, value ? std::optional<std::string>{std::string{*value}} : std::nullopt);
  }
  std::vector<std::pair<std::string, std::optional<std::string>>> records;
};

// Runs every test over the in-memory and the LevelDB (memenv) storage.
class window_store_test : public ::testing::TestWithParam<bool> {
protected:
  std::unique_ptr<key_value_store> storage() {
    if (!GetParam())
      return std::make_unique<in_memory_store>("windows");
    leveldb_store_options o;
    o.env = env_.get();
    auto opened = leveldb_store::open("/ws/" + std::to_string(n_++), "windows", o);
    EXPECT_TRUE(opened.has_value());
    return std::move(opened.value().store);
  }
  std::unique_ptr<window_store> make(window_store_options o) {
    auto ws = window_store::open(storage(), o);
    EXPECT_TRUE(ws.has_value());
    return std::move(ws).value();
  }
  std::unique_ptr<leveldb::Env> env_{leveldb::NewMemEnv(leveldb::Env::Default())};
  int n_ = 0;
};

INSTANTIATE_TEST_SUITE_P(storage, window_store_test, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "leveldb" : "in_memory"; });

TEST_P(window_store_test, fetch_returns_one_key_in_window_order) {
  auto ws = make({});
  ASSERT_OK(ws->put("a", 300, "a300", 0));
  ASSERT_OK(ws->put("a", 100, "a100", 0));
  ASSERT_OK(ws->put("a", -50, "a-50", 0)); // negative times order before positive ones
  ASSERT_OK(ws->put("a", 200, "a200", 0));
  ASSERT_OK(ws->put("ab", 150, "ab150", 0)); // "a" is a prefix of "ab": must not leak in
  ASSERT_OK(ws->put(std::string_view{"a\x80", 2}, 160, "bin", 0));
  ASSERT_OK(ws->put("b", 100, "b100", 0));
  ASSERT_OK(ws->put("a", 200, "a200-v2", 0)); // overwrite
  EXPECT_EQ(collect_windows(ws->fetch("a", -1000, 1000)),
            (std::vector<window>{{"a", -50, "a-50"}, {"a", 100, "a100"}, {"a", 200, "a200-v2"}, {"a", 300, "a300"}}));
  EXPECT_EQ(collect_windows(ws->fetch("a", 100, 200)),
            (std::vector<window>{{"a", 100, "a100"}, {"a", 200, "a200-v2"}}));
  EXPECT_TRUE(collect_windows(ws->fetch("a", 201, 299)).empty());
  EXPECT_TRUE(collect_windows(ws->fetch("a", 5, 1)).empty());
  EXPECT_TRUE(collect_windows(ws->fetch("c", -1000, 1000)).empty());
  std::string v;
  auto found = ws->fetch_into("ab", 150, v);
  ASSERT_OK(found);
  EXPECT_TRUE(*found);
  EXPECT_EQ(v, "ab150");
  EXPECT_EQ(collect_windows(ws->fetch_all(100, 160)),
            (std::vector<window>{
              {"a", 100, "a100"}, {"b", 100, "b100"}, {"ab", 150, "ab150"}, {std::string{"a\x80", 2}, 160, "bin"}}));
  ASSERT_OK(ws->remove("a", 100, 0));
  EXPECT_EQ(collect_windows(ws->fetch("a", 100, 100)).size(), 0u);
  EXPECT_EQ(collect_windows(ws->fetch_all(100, 100)), (std::vector<window>{{"b", 100, "b100"}}));
}

TEST_P(window_store_test, windows_older_than_retention_are_dropped) {
  window_store_options o;
  o.retention_ms = 1000;
  auto ws = make(o);
  ASSERT_OK(ws->put("a", 0, "a0", 0));
  ASSERT_OK(ws->put("a", 500, "a500", 0));
  ASSERT_OK(ws->put("b", 600, "b600", 0));
  EXPECT_EQ(ws->observed_stream_time(), 600);
  EXPECT_EQ(collect_windows(ws->fetch_all(0, 2000)).size(), 3u);
  ASSERT_OK(ws->put("c", 1600, "c1600", 0)); // stream time 1600: cutoff 600
  EXPECT_EQ(ws->expiry_cutoff(), 600);
  EXPECT_EQ(collect_windows(ws->fetch("a", 0, 2000)).size(), 0u);
  EXPECT_EQ(collect_windows(ws->fetch_all(0, 2000)), (std::vector<window>{{"b", 600, "b600"}, {"c", 1600, "c1600"}}));
  std::string v;
  auto found = ws->fetch_into("a", 500, v);
  ASSERT_OK(found);
  EXPECT_FALSE(*found);
  // Physically gone too: 2 windows x 2 entries (data + time index) remain.
  auto n = ws->storage().approximate_num_entries();
  ASSERT_OK(n);
  EXPECT_EQ(*n, 4u);
  // A late put into an expired window is dropped and counted.
  ASSERT_OK(ws->put("a", 100, "late", 0));
  EXPECT_EQ(ws->dropped_expired(), 1u);
  EXPECT_EQ(collect_windows(ws->fetch("a", 0, 2000)).size(), 0u);
  // Exactly at the cutoff is retained.
  ASSERT_OK(ws->put("d", 600, "d600", 0));
  EXPECT_EQ(collect_windows(ws->fetch("d", 0, 2000)).size(), 1u);
}

TEST_P(window_store_test, purge_interval_batches_physical_deletes_but_fetch_hides_expired) {
  window_store_options o;
  o.retention_ms = 100;
  o.purge_interval_ms = 1000;
  auto ws = make(o);
  for (std::int64_t t = 0; t <= 500; t += 10)
    ASSERT_OK(ws->put("k", t, std::to_string(t), 0));
  // First purge ran at the first cutoff; later ones wait for 1000 ms of cutoff progress.
  EXPECT_EQ(collect_windows(ws->fetch("k", 0, 1000)).front(), (window{"k", 400, "400"}));
  auto n = ws->storage().approximate_num_entries();
  ASSERT_OK(n);
  EXPECT_GT(*n, 2u * 11); // expired entries still stored
  auto purged = ws->purge_expired();
  ASSERT_OK(purged);
  EXPECT_GT(*purged, 0u);
  n = ws->storage().approximate_num_entries();
  ASSERT_OK(n);
  EXPECT_EQ(*n, 2u * 11); // windows 400..500
}

TEST_P(window_store_test, purges_across_the_whole_range_of_window_starts) {
  window_store_options o;
  o.retention_ms = 1000;
  auto ws = make(o);
  const auto oldest = std::numeric_limits<std::int64_t>::min();
  ASSERT_OK(ws->put("a", oldest + 2000, "a", 0));                           // cutoff oldest + 1000: the first purge
  ASSERT_OK(ws->put("b", std::int64_t{3'000'000'000'000'000'000}, "b", 0)); // cutoff moves by more than 2^63
  EXPECT_EQ(collect_windows(ws->fetch_all(oldest, std::numeric_limits<std::int64_t>::max())),
            (std::vector<window>{{"b", 3'000'000'000'000'000'000, "b"}}));
  auto n = ws->storage().approximate_num_entries();
  ASSERT_OK(n);
  EXPECT_EQ(*n, 2u); // "a" purged: only b's data and time index entries remain
}

TEST_P(window_store_test, changelog_records_roundtrip_through_restore) {
  recording_changelog log;
  window_store_options o;
  o.retention_ms = 1000;
  o.changelog = &log;
  auto ws = make(o);
  ASSERT_OK(ws->put("a", 100, "v1", 0));
  ASSERT_OK(ws->put("a", 200, "v2", 0));
  ASSERT_OK(ws->remove("a", 100, 0));
  ASSERT_EQ(log.records.size(), 3u);
  auto decoded = window_store::decode_changelog_key(log.records[1].first);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->first, "a");
  EXPECT_EQ(decoded->second, 200);
  EXPECT_EQ(log.records[2].second, std::nullopt);

  // Restore the log, plus an old window that retention drops, into a fresh store.
  auto fresh = make(
    {.retention_ms = 1000, .purge_interval_ms = 0, .changelog = nullptr, .time_from_puts = true, .cache = nullptr});
  std::string old_key;
  window_store::encode_changelog_key("z", -5000, old_key);
  std::vector<changelog_record> records{{old_key, "ancient"}};
  for (auto& [k, v] : log.records)
    records.push_back({k, v ? std::optional<std::string_view>{*v} : std::nullopt});
  ASSERT_OK(fresh->restore(records, 77));
  EXPECT_EQ(fresh->checkpoint(), 77);
  EXPECT_EQ(fresh->observed_stream_time(), 200);
  EXPECT_EQ(collect_windows(fresh->fetch_all(-10000, 10000)), (std::vector<window>{{"a", 200, "v2"}}));
  std::vector<changelog_record> bad{{"short", "x"}};
  auto r = fresh->restore(bad, 78);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, errc::invalid_argument);
  EXPECT_EQ(fresh->checkpoint(), 77);
}

TEST(window_store_persistence, stream_time_and_windows_survive_reopen) {
  std::unique_ptr<leveldb::Env> env{leveldb::NewMemEnv(leveldb::Env::Default())};
  leveldb_store_options lo;
  lo.env = env.get();
  window_store_options o;
  o.retention_ms = 1000;
  {
    auto opened = leveldb_store::open("/ws/persist", "w", lo);
    ASSERT_OK(opened);
    auto ws = window_store::open(std::move(opened.value().store), o);
    ASSERT_OK(ws);
    ASSERT_OK((*ws)->put("a", 100, "x", 0));
    ASSERT_OK((*ws)->put("a", 1000, "y", 0));
    ASSERT_OK((*ws)->flush());
    ASSERT_OK((*ws)->commit_checkpoint(12));
  }
  auto opened = leveldb_store::open("/ws/persist", "w", lo);
  ASSERT_OK(opened);
  EXPECT_EQ(opened->outcome, open_outcome::opened_existing);
  auto ws = window_store::open(std::move(opened.value().store), o);
  ASSERT_OK(ws);
  EXPECT_EQ((*ws)->observed_stream_time(), 1000);
  EXPECT_EQ((*ws)->checkpoint(), 12);
  EXPECT_EQ(collect_windows((*ws)->fetch("a", 0, 5000)), (std::vector<window>{{"a", 100, "x"}, {"a", 1000, "y"}}));
  // Expiry continues from the persisted stream time.
  ASSERT_OK((*ws)->put("b", 1200, "z", 0));
  EXPECT_EQ(collect_windows((*ws)->fetch("a", 0, 5000)), (std::vector<window>{{"a", 1000, "y"}}));
}

} // namespace
} // namespace sluice
