// leveldb_store: persistence across reopen, atomic checkpoint, corruption handling, locking, a
// block cache shared by stores.

#include <leveldb/cache.h>
#include <leveldb/env.h>
#include <leveldb/helpers/memenv.h>

#include <fstream>

#include "state/leveldb_store.hpp"
#include "test_support.hpp"

namespace sluice {
namespace {

using test::collect;
using test::kv_pairs;

class leveldb_store_test : public ::testing::Test {
protected:
  expected<opened_leveldb_store> open(const std::string& path, leveldb::Env* env) {
    leveldb_store_options o;
    o.env = env;
    return leveldb_store::open(path, "counts", o);
  }
  std::unique_ptr<leveldb::Env> env_{leveldb::NewMemEnv(leveldb::Env::Default())};
};

void overwrite(leveldb::Env* env, const std::string& file, std::string_view bytes) {
  leveldb::WritableFile* f = nullptr;
  ASSERT_TRUE(env->NewWritableFile(file, &f).ok());
  ASSERT_TRUE(f->Append(leveldb::Slice{bytes.data(), bytes.size()}).ok());
  ASSERT_TRUE(f->Close().ok());
  delete f;
}

std::string find_manifest(leveldb::Env* env, const std::string& dir) {
  std::vector<std::string> children;
  EXPECT_TRUE(env->GetChildren(dir, &children).ok());
  for (auto& c : children)
    if (c.rfind("MANIFEST-", 0) == 0)
      return dir + "/" + c;
  ADD_FAILURE() << "no MANIFEST in " << dir;
  return {};
}

TEST_F(leveldb_store_test, missing_store_is_created_and_reported) {
  auto opened = open("/db/a", env_.get());
  ASSERT_OK(opened);
  EXPECT_EQ(opened->outcome, open_outcome::created_empty);
  EXPECT_TRUE(opened->needs_full_restore());
  EXPECT_FALSE(opened->store->checkpoint().has_value());
  opened->store.reset();
  auto again = open("/db/a", env_.get());
  ASSERT_OK(again);
  EXPECT_EQ(again->outcome, open_outcome::opened_existing);
  EXPECT_FALSE(again->needs_full_restore());
}

TEST_F(leveldb_store_test, data_and_checkpoint_committed_together_survive_reopen) {
  {
    auto opened = open("/db/b", env_.get());
    ASSERT_OK(opened);
    auto& s = *opened->store;
    store_batch batch;
    batch.put("k1", "v1");
    batch.put("k2", "v2");
    batch.set_checkpoint(100);
    ASSERT_OK(s.write(batch));
    EXPECT_EQ(s.checkpoint(), 100);
    // Later writes without a checkpoint: reopened data may run ahead of the checkpoint (replay
    // from 101 rewrites them), never behind it.
    ASSERT_OK(s.put("k3", "v3", 0));
  }
  auto opened = open("/db/b", env_.get());
  ASSERT_OK(opened);
  EXPECT_EQ(opened->outcome, open_outcome::opened_existing);
  auto& s = *opened->store;
  EXPECT_EQ(s.checkpoint(), 100);
  EXPECT_EQ(collect(s.all()), (kv_pairs{{"k1", "v1"}, {"k2", "v2"}, {"k3", "v3"}}));
  // Restore applies records and the new checkpoint as one batch.
  std::vector<changelog_record> records{{"k3", std::nullopt}, {"k4", "v4"}};
  ASSERT_OK(s.restore(records, 102));
  opened->store.reset();
  auto reopened = open("/db/b", env_.get());
  ASSERT_OK(reopened);
  EXPECT_EQ(reopened->store->checkpoint(), 102);
  EXPECT_EQ(collect(reopened->store->all()), (kv_pairs{{"k1", "v1"}, {"k2", "v2"}, {"k4", "v4"}}));
}

TEST_F(leveldb_store_test, checkpoint_key_is_invisible_to_user_scans_and_gets) {
  auto opened = open("/db/c", env_.get());
  ASSERT_OK(opened);
  auto& s = *opened->store;
  ASSERT_OK(s.commit_checkpoint(7));
  ASSERT_OK(s.put(std::string_view{"\0checkpoint", 11}, "user", 0)); // same bytes as internal key
  EXPECT_EQ(s.checkpoint(), 7);
  EXPECT_EQ(collect(s.all()), (kv_pairs{{std::string("\0checkpoint", 11), "user"}}));
  auto n = s.approximate_num_entries();
  ASSERT_OK(n);
  EXPECT_EQ(*n, 1u);
}

TEST_F(leveldb_store_test, garbage_current_file_wipes_store_and_flags_full_restore) {
  {
    auto opened = open("/db/d", env_.get());
    ASSERT_OK(opened);
    ASSERT_OK(opened->store->put("k", "v", 0));
    ASSERT_OK(opened->store->commit_checkpoint(5));
  }
  overwrite(env_.get(), "/db/d/CURRENT", "this is not a manifest name");
  auto opened = open("/db/d", env_.get());
  ASSERT_OK(opened);
  EXPECT_EQ(opened->outcome, open_outcome::wiped_corrupt);
  EXPECT_TRUE(opened->needs_full_restore());
  EXPECT_FALSE(opened->reason.empty());
  EXPECT_FALSE(opened->store->checkpoint().has_value());
  EXPECT_TRUE(collect(opened->store->all()).empty());
  // The fresh store works and persists.
  ASSERT_OK(opened->store->put("k2", "v2", 0));
  opened->store.reset();
  auto again = open("/db/d", env_.get());
  ASSERT_OK(again);
  EXPECT_EQ(again->outcome, open_outcome::opened_existing);
  EXPECT_EQ(collect(again->store->all()), (kv_pairs{{"k2", "v2"}}));
}

TEST_F(leveldb_store_test, garbage_manifest_wipes_store_and_flags_full_restore) {
  {
    auto opened = open("/db/e", env_.get());
    ASSERT_OK(opened);
    ASSERT_OK(opened->store->put("k", "v", 0));
  }
  overwrite(env_.get(), find_manifest(env_.get(), "/db/e"), std::string(300, '\x5a'));
  auto opened = open("/db/e", env_.get());
  ASSERT_OK(opened);
  EXPECT_EQ(opened->outcome, open_outcome::wiped_corrupt);
  EXPECT_TRUE(collect(opened->store->all()).empty());
}

TEST_F(leveldb_store_test, corrupt_store_on_disk_is_wiped_including_foreign_files) {
  test::temp_dir dir;
  const auto path = (dir.path() / "store").string();
  {
    auto opened = open(path, nullptr);
    ASSERT_OK(opened);
    ASSERT_OK(opened->store->put("k", "v", 0));
    ASSERT_OK(opened->store->commit_checkpoint(9));
  }
  auto manifest = find_manifest(leveldb::Env::Default(), path);
  { std::ofstream(manifest, std::ios::trunc) << "garbage garbage garbage"; }
  { std::ofstream(path + "/stray.bin") << "not leveldb's"; }
  auto opened = open(path, nullptr);
  ASSERT_OK(opened);
  EXPECT_EQ(opened->outcome, open_outcome::wiped_corrupt);
  EXPECT_FALSE(opened->store->checkpoint().has_value());
  EXPECT_TRUE(collect(opened->store->all()).empty());
  EXPECT_FALSE(std::filesystem::exists(path + "/stray.bin"));
}

TEST_F(leveldb_store_test, second_open_of_same_store_is_locked_and_wipes_nothing) {
  test::temp_dir dir;
  const auto path = (dir.path() / "store").string();
  auto first = open(path, nullptr);
  ASSERT_OK(first);
  ASSERT_OK(first->store->put("k", "v", 0));
  auto second = open(path, nullptr);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, errc::locked);
  auto v = first->store->get("k");
  ASSERT_OK(v);
  EXPECT_EQ(v->value_or(""), "v");
}

TEST_F(leveldb_store_test, many_puts_and_overwrites_survive_compaction_and_reopen) {
  leveldb_store_options o;
  o.env = env_.get();
  o.write_buffer_size = 64 * 1024; // force memtable flushes and compactions
  std::string key, value;
  {
    auto opened = leveldb_store::open("/db/f", "big", o);
    ASSERT_OK(opened);
    for (int round = 0; round < 3; ++round)
      for (int i = 0; i < 5000; ++i) {
        key = "key-" + std::to_string(i);
        value = std::to_string(round * 100000 + i) + std::string(40, 'p');
        ASSERT_OK(opened->store->put(key, value, 0));
      }
    for (int i = 0; i < 5000; i += 2)
      ASSERT_OK(opened->store->remove("key-" + std::to_string(i), 0));
    ASSERT_OK(opened->store->commit_checkpoint(15000 + 2500 - 1));
  }
  auto opened = leveldb_store::open("/db/f", "big", o);
  ASSERT_OK(opened);
  EXPECT_EQ(opened->store->checkpoint(), 17499);
  auto n = opened->store->approximate_num_entries();
  ASSERT_OK(n);
  EXPECT_EQ(*n, 2500u);
  auto v = opened->store->get("key-4999");
  ASSERT_OK(v);
  EXPECT_EQ(v->value_or(""), std::to_string(200000 + 4999) + std::string(40, 'p'));
}

TEST_F(leveldb_store_test, stores_sharing_a_block_cache_read_through_it_within_its_capacity) {
  constexpr std::size_t capacity = 256 * 1024;
  leveldb_store_options o;
  o.env = env_.get();
  o.write_buffer_size = 64 * 1024; // most data goes to tables, whose blocks reads cache
  o.block_cache.reset(leveldb::NewLRUCache(capacity));
  auto value_of = [](int s, int i) { return std::to_string(s * 100000 + i) + std::string(100, 'v'); };
  std::vector<std::unique_ptr<leveldb_store>> stores;
  for (int s = 0; s < 4; ++s) {
    auto opened = leveldb_store::open("/db/shared-" + std::to_string(s), "s", o);
    ASSERT_OK(opened);
    for (int i = 0; i < 5000; ++i)
      ASSERT_OK(opened->store->put("key-" + std::to_string(i), value_of(s, i), 0));
    stores.push_back(std::move(opened->store));
  }
  std::string value;
  for (int s = 0; s < 4; ++s)
    for (int i = 0; i < 5000; ++i) {
      auto found = stores[s]->get_into("key-" + std::to_string(i), value);
      ASSERT_OK(found);
      ASSERT_TRUE(*found);
      ASSERT_EQ(value, value_of(s, i));
    }
  // ~2.4 MB of blocks were read through a 256 KiB cache: it is full, and no fuller.
  EXPECT_GT(o.block_cache->TotalCharge(), capacity / 2);
  EXPECT_LE(o.block_cache->TotalCharge(), capacity);
}

} // namespace
} // namespace sluice
