// state_directory: layout, task locks, wipe, store open through the directory.

#include <fstream>

#include "state/state_directory.hpp"
#include "test_support.hpp"

namespace sluice {
namespace {

using test::collect;
using test::kv_pairs;

TEST(state_directory, layout_is_state_dir_application_task_store) {
  test::temp_dir root;
  auto dir = state_directory::open(root.path(), "fraud-app");
  ASSERT_OK(dir);
  EXPECT_EQ(dir->application_directory(), root.path() / "fraud-app");
  EXPECT_TRUE(std::filesystem::is_directory(root.path() / "fraud-app"));
  EXPECT_EQ(dir->store_directory("0_3", "counts"), root.path() / "fraud-app" / "0_3" / "counts");
  EXPECT_FALSE(state_directory::open(root.path(), "../escape").has_value());
  EXPECT_FALSE(state_directory::open(root.path(), "").has_value());
  auto bad = dir->lock_task("a/b");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, errc::invalid_argument);
}

TEST(state_directory, task_lock_prevents_a_second_owner_until_released) {
  test::temp_dir root;
  auto dir = state_directory::open(root.path(), "app");
  ASSERT_OK(dir);
  // A second state_directory object stands for a second instance on the same machine.
  auto other_instance = state_directory::open(root.path(), "app");
  ASSERT_OK(other_instance);
  {
    auto lock = dir->lock_task("0_1");
    ASSERT_OK(lock);
    EXPECT_EQ(lock->task_id(), "0_1");
    EXPECT_TRUE(std::filesystem::exists(root.path() / "app" / "0_1" / ".lock"));
    auto second = other_instance->lock_task("0_1");
    ASSERT_FALSE(second.has_value());
    EXPECT_EQ(second.error().code, errc::locked);
    auto other_task = other_instance->lock_task("0_2"); // other tasks are independent
    ASSERT_OK(other_task);
    // Moving the lock keeps it held.
    task_lock moved = std::move(lock).value();
    EXPECT_FALSE(other_instance->lock_task("0_1").has_value());
  }
  auto after_release = other_instance->lock_task("0_1");
  ASSERT_OK(after_release);
  auto ids = dir->task_ids();
  ASSERT_OK(ids);
  std::sort(ids->begin(), ids->end());
  EXPECT_EQ(*ids, (std::vector<std::string>{"0_1", "0_2"}));
}

TEST(state_directory, instances_claim_distinct_slots_and_a_restart_takes_its_slot_back) {
  test::temp_dir root;
  auto dir = state_directory::open(root.path(), "app");
  ASSERT_OK(dir);
  auto other_instance = state_directory::open(root.path(), "app");
  ASSERT_OK(other_instance);
  std::string first_id;
  {
    auto first = dir->claim_instance();
    ASSERT_OK(first);
    auto second = other_instance->claim_instance();
    ASSERT_OK(second);
    first_id = first->id();
    EXPECT_NE(first->id(), second->id());
    // One directory id, slots 0 and 1.
    EXPECT_EQ(first_id.substr(0, first_id.rfind('-')), second->id().substr(0, second->id().rfind('-')));
    EXPECT_TRUE(first_id.ends_with("-0")) << first_id;
    EXPECT_TRUE(second->id().ends_with("-1")) << second->id();
  }
  auto again = other_instance->claim_instance(); // both released: the restart gets slot 0 back
  ASSERT_OK(again);
  EXPECT_EQ(again->id(), first_id);
}

TEST(state_directory, open_store_reports_missing_corrupt_and_wipe) {
  test::temp_dir root;
  auto dir = state_directory::open(root.path(), "app");
  ASSERT_OK(dir);
  auto lock = dir->lock_task("1_0");
  ASSERT_OK(lock);
  {
    auto opened = dir->open_leveldb_store(*lock, "counts");
    ASSERT_OK(opened);
    EXPECT_EQ(opened->outcome, open_outcome::created_empty);
    ASSERT_OK(opened->store->put("k", "v", 0));
    ASSERT_OK(opened->store->commit_checkpoint(3));
  }
  {
    auto opened = dir->open_leveldb_store(*lock, "counts");
    ASSERT_OK(opened);
    EXPECT_EQ(opened->outcome, open_outcome::opened_existing);
    EXPECT_EQ(opened->store->checkpoint(), 3);
  }
  { std::ofstream(dir->store_directory("1_0", "counts") / "CURRENT", std::ios::trunc) << "junk"; }
  {
    auto opened = dir->open_leveldb_store(*lock, "counts");
    ASSERT_OK(opened);
    EXPECT_EQ(opened->outcome, open_outcome::wiped_corrupt);
    EXPECT_TRUE(opened->needs_full_restore());
    EXPECT_TRUE(collect(opened->store->all()).empty());
    ASSERT_OK(opened->store->put("k", "v", 0));
  }
  ASSERT_OK(dir->wipe(*lock, "counts"));
  EXPECT_FALSE(std::filesystem::exists(dir->store_directory("1_0", "counts")));
  EXPECT_TRUE(std::filesystem::exists(dir->task_directory("1_0") / ".lock"));
  EXPECT_FALSE(dir->wipe(*lock, ".lock").has_value());
  auto opened = dir->open_leveldb_store(*lock, "counts");
  ASSERT_OK(opened);
  EXPECT_EQ(opened->outcome, open_outcome::created_empty);
}

} // namespace
} // namespace sluice
