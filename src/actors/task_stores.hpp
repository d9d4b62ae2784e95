// The state stores of one task: opened from the state directory and restored from their
// changelogs before the task processes anything.
#pragma once

#include "actors/metrics.hpp"
#include <sluice/streams_config.hpp>
#include "state/cache_budget.hpp"
#include <sluice/state/changelog_writer.hpp>
#include <sluice/state/key_value_store.hpp>
#include "state/state_directory.hpp"
#include <sluice/state/window_store.hpp>
#include <sluice/topology/topology.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sluice {

/// What every store of an instance shares, made once per instance from its settings.
struct store_resources {
  /// The shared record-cache budget and block cache the settings ask for.
  explicit store_resources(const streams_config& config);
  /// `cache.max.bytes.buffering`: the byte budget of every store's record cache.
  std::shared_ptr<cache_budget> record_cache;
  /// How stores are opened: one block cache of `state.block.cache.max.bytes` for all of them.
  leveldb_store_options leveldb;
};

/// Forwards a store's changes to whatever `sink` the owning operator installs.
class changelog_producer final : public changelog_writer {
public:
  /// Set by the operator before the first write.
  std::function<void(std::string_view key, std::optional<std::string_view> value, int64_t timestamp)> sink;

  void append(std::string_view key, std::optional<std::string_view> value, int64_t timestamp_ms) override {
    sink(key, value, timestamp_ms);
  }
};

/// The store of one node: key-value or window, both cached (write-back, flushed at each commit
/// marker) and logged.
struct node_store {
  std::string changelog_topic;
  std::unique_ptr<changelog_producer> changelog = std::make_unique<changelog_producer>();
  std::unique_ptr<key_value_store> key_value;
  std::unique_ptr<window_store> windows;

  /// Changelog records to write before anything else (key, value or nullopt for a tombstone):
  /// they undo, for later restores, what the changelog holds past the last commit.
  std::vector<std::pair<std::string, std::optional<std::string>>> compensation;

  /// Writes that reached the store (each one also a changelog record), and how many of them the
  /// last checkpoint covers. Under exactly-once a checkpoint comes when a transaction ends, and
  /// the store may already hold writes of the next one: only a count tells them apart.
  uint64_t writes = 0;
  uint64_t writes_checkpointed = 0;

  /// True while every write is covered by the last checkpoint.
  bool at_checkpoint() const { return writes == writes_checkpointed; }

  /// Pushes buffered writes to LevelDB and the changelog; throws std::runtime_error on failure.
  void flush();

  /// Records `offset` as the last changelog offset reflected in the store, which covers its
  /// first `covered` writes.
  void checkpoint(int64_t offset, uint64_t covered);
};

/// All stores of a task, by node id, with the task directory lock that guards them. While a
/// task runs, its directory holds a `.running` file, removed when it closes with every store at
/// a checkpoint: a store found with that file after a crash may hold uncommitted writes.
struct task_stores {
  /// The file in the task directory that says the task runs (or crashed while running).
  static constexpr const char* running_marker = ".running";

  std::optional<task_lock> lock;
  std::map<int, node_store> by_node;
  ~task_stores();
};

/// Opens and restores every store of task (`subtopology`, `partition`). `committed`: each store's
/// last changelog offset as of the last commit (-1 or absent: none), or nullopt when the commit
/// carried no such positions. Blocking: run it off the scheduler threads. Gives up (returns
/// nullptr) when `stop` becomes true; throws std::runtime_error with a clear message when the
/// state cannot be opened or restored. `shared`: the instance's record-cache budget and block
/// cache, shared by the stores of all its tasks. `progress`: restore progress and the stores'
/// directories, for metrics.
std::shared_ptr<task_stores> open_task_stores(const topology& topo, int subtopology, int32_t partition,
                                              const streams_config& config, const store_resources& shared,
                                              const std::optional<std::map<std::string, int64_t>>& committed,
                                              const std::atomic<bool>& stop, task_metrics& progress);

/// The stores of a task this instance keeps warm while another instance runs it
/// (num.standby.replicas): the same directories an active task of it would open here, kept at a
/// committed changelog position, so that the task restores only what came after if it moves here.
class standby_stores {
public:
  /// Opens the stores of task (`subtopology`, `partition`) to follow their changelogs; nullptr if
  /// its state directory is locked (an active task of it runs from there). Throws
  /// std::runtime_error when the state cannot be opened. `shared`: as for open_task_stores.
  static std::unique_ptr<standby_stores> open(const topology& topo, int subtopology, int32_t partition,
                                              const streams_config& config, const store_resources& shared);
  ~standby_stores();
  standby_stores(const standby_stores&) = delete;
  standby_stores& operator=(const standby_stores&) = delete;

  /// Applies at most `most` changelog records per store, from where each store is up to
  /// `committed` (each store's last changelog offset as of the task's last commit; nullopt: the
  /// changelog's end, for commits that carry no positions); answers the records applied. Stops
  /// early when `stop` becomes true. Throws std::runtime_error on a store or changelog failure.
  int64_t catch_up(const std::optional<std::map<std::string, int64_t>>& committed, int64_t most,
                   const std::atomic<bool>& stop);

  /// Changelog records between the stores' positions and their targets, as of the last catch_up.
  int64_t lag() const;

private:
  struct impl;
  explicit standby_stores(std::unique_ptr<impl> d);
  std::unique_ptr<impl> impl_;
};

} // namespace sluice
