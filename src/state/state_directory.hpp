#pragma once
// state_directory: the on-disk layout of an instance's state,
//   <state.dir>/<application.id>/<task_id>/<store_name>/
// plus one exclusive lock per task directory (<task dir>/.lock, flock), so two instances on
// one machine never use a task's state at the same time. Store operations require the task's
// lock, passed as proof.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "state/leveldb_store.hpp"
#include <sluice/error.hpp>

namespace sluice {

/// Exclusive ownership of one task directory; released on destruction. Move-only.
class task_lock {
public:
  task_lock(task_lock&& other) noexcept;
  task_lock& operator=(task_lock&& other) noexcept;
  task_lock(const task_lock&) = delete;
  task_lock& operator=(const task_lock&) = delete;
  /// Releases the lock (closes the descriptor; the lock file stays).
  ~task_lock();
  /// The locked task's id.
  const std::string& task_id() const noexcept { return task_id_; }
  /// The locked task's directory.
  const std::filesystem::path& directory() const noexcept { return directory_; }

private:
  friend class state_directory;
  task_lock(std::string task_id, std::filesystem::path directory, int fd) noexcept;
  std::string task_id_;
  std::filesystem::path directory_;
  int fd_ = -1;
};

/// This process's identity among the instances of one application that share a state directory:
/// "<directory id>-<slot>", where the directory id is random, made once per state directory, and
/// the slot is the lowest one no running instance holds. Held until destroyed (a flock that the
/// kernel drops when the process dies, so a restarted instance takes its predecessor's slot back).
/// Move-only.
class instance_claim {
public:
  instance_claim(instance_claim&& other) noexcept;
  instance_claim& operator=(instance_claim&& other) noexcept;
  instance_claim(const instance_claim&) = delete;
  instance_claim& operator=(const instance_claim&) = delete;
  /// Releases the slot.
  ~instance_claim();
  /// "<directory id>-<slot>": stable across restarts, unique among the instances running here.
  const std::string& id() const noexcept { return id_; }

private:
  friend class state_directory;
  instance_claim(std::string id, int fd) noexcept : id_(std::move(id)), fd_(fd) {}
  std::string id_;
  int fd_ = -1;
};

/// The state directory of one application on this machine.
class state_directory {
public:
  /// Creates (if needed) <state_dir>/<application_id>/. Errors: invalid_argument (empty or
  /// path-like application id), io_error.
  static expected<state_directory> open(const std::filesystem::path& state_dir, std::string_view application_id);

  /// <state.dir>/<application.id>.
  const std::filesystem::path& application_directory() const noexcept { return app_dir_; }

  /// <state.dir>/<application.id>/<task_id>.
  std::filesystem::path task_directory(std::string_view task_id) const;

  /// <state.dir>/<application.id>/<task_id>/<store_name>.
  std::filesystem::path store_directory(std::string_view task_id, std::string_view store_name) const;

  /// Creates the task directory and locks it exclusively without blocking. Errors: locked
  /// (another instance, or another lock in this process, holds it), invalid_argument, io_error.
  expected<task_lock> lock_task(std::string_view task_id) const;

  /// Deletes one store's directory of the locked task (no-op if absent).
  expected<void> wipe(const task_lock& lock, std::string_view store_name) const;

  /// Opens the LevelDB store store_name of the locked task; a missing store is created and a
  /// corrupt one wiped, both reported by opened_leveldb_store::needs_full_restore().
  expected<opened_leveldb_store> open_leveldb_store(const task_lock& lock, std::string_view store_name,
                                                    leveldb_store_options options = {}) const;

  /// Claims the lowest free instance slot (files "instance.id" and ".instance-<slot>.lock" here).
  /// Errors: io_error.
  expected<instance_claim> claim_instance() const;

  /// Task ids with a directory here (for cleaning up tasks no longer assigned).
  expected<std::vector<std::string>> task_ids() const;

private:
  explicit state_directory(std::filesystem::path app_dir) : app_dir_(std::move(app_dir)) {}
  std::filesystem::path app_dir_;
};

} // namespace sluice
