// When a task's stores close clean: only with every write covered by the last checkpoint. Under
// exactly-once a checkpoint comes when a transaction ends, when the store may already hold writes
// of the next transaction; closed then, the task must be found "running" (crashed) next time, so
// that its stores are rebuilt instead of taken for the committed state.
#include "actors/task_stores.hpp"
#include "state/in_memory_store.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace sluice;

namespace {

struct task_stores_test : ::testing::Test {
  std::filesystem::path root =
    std::filesystem::temp_directory_path() /
    ("sluice-task-stores-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
     ::testing::UnitTest::GetInstance()->current_test_info()->name());

  void TearDown() override { std::filesystem::remove_all(root); }

  /// Closes a task whose one store made `writes` writes, the last checkpoint covering `covered`
  /// of them; answers whether the task is still marked as running.
  bool marked_running_after_close(uint64_t writes, uint64_t covered) {
    auto dir = state_directory::open(root, "app");
    EXPECT_TRUE(dir.has_value());
    std::filesystem::path marker;
    {
      task_stores stores;
      auto lock = dir->lock_task("1_0");
      EXPECT_TRUE(lock.has_value());
      stores.lock.emplace(std::move(*lock));
      marker = stores.lock->directory() / task_stores::running_marker;
      std::ofstream{marker}.put('\n');
      auto& ns = stores.by_node[0];
      ns.key_value = std::make_unique<in_memory_store>("counts");
      ns.writes = writes;
      ns.checkpoint(41, covered);
    }
    return std::filesystem::exists(marker);
  }
};

} // namespace

TEST_F(task_stores_test, a_task_whose_stores_are_at_their_checkpoint_closes_clean) {
  EXPECT_FALSE(marked_running_after_close(12, 12));
}

TEST_F(task_stores_test, a_store_with_writes_past_its_checkpoint_leaves_the_task_marked_running) {
  EXPECT_TRUE(marked_running_after_close(12, 9));
}
