#include "state/state_directory.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <system_error>

namespace sluice {

namespace {

constexpr const char* lock_file_name = ".lock";

// A path component we create from an id or name: no separators, no "." / "..", not empty.
bool valid_component(std::string_view s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string_view::npos &&
         s.find('\0') == std::string_view::npos;
}

error invalid_component(std::string_view what, std::string_view s) {
  return {errc::invalid_argument, std::string{what} + " '" + std::string{s} + "' is not a valid directory name"};
}

} // namespace

task_lock::task_lock(std::string task_id, std::filesystem::path directory, int fd) noexcept
    : task_id_(std::move(task_id)), directory_(std::move(directory)), fd_(fd) {}

task_lock::task_lock(task_lock&& other) noexcept
    : task_id_(std::move(other.task_id_)), directory_(std::move(other.directory_)), fd_(std::exchange(other.fd_, -1)) {}

task_lock& task_lock::operator=(task_lock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0)
      ::close(fd_);
    task_id_ = std::move(other.task_id_);
    directory_ = std::move(other.directory_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

task_lock::~task_lock() {
  if (fd_ >= 0)
    ::close(fd_); // closing the descriptor releases the flock
}

instance_claim::instance_claim(instance_claim&& other) noexcept
    : id_(std::move(other.id_)), fd_(std::exchange(other.fd_, -1)) {}

instance_claim& instance_claim::operator=(instance_claim&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0)
      ::close(fd_);
    id_ = std::move(other.id_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

instance_claim::~instance_claim() {
  if (fd_ >= 0)
    ::close(fd_);
}

expected<state_directory> state_directory::open(const std::filesystem::path& state_dir,
                                                std::string_view application_id) {
  if (!valid_component(application_id))
    return invalid_component("application.id", application_id);
  auto dir = state_dir / std::string{application_id};
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return error{errc::io_error, "create state directory " + dir.string() + ": " + ec.message()};
  return state_directory{std::move(dir)};
}

std::filesystem::path state_directory::task_directory(std::string_view task_id) const {
  return app_dir_ / std::string{task_id};
}

std::filesystem::path state_directory::store_directory(std::string_view task_id, std::string_view store_name) const {
  return task_directory(task_id) / std::string{store_name};
}

expected<task_lock> state_directory::lock_task(std::string_view task_id) const {
  if (!valid_component(task_id))
    return invalid_component("task id", task_id);
  auto dir = task_directory(task_id);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return error{errc::io_error, "create task directory " + dir.string() + ": " + ec.message()};
  auto file = dir / lock_file_name;
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return error{errc::io_error, "open lock file " + file.string() + ": " + std::strerror(errno)};
  // flock locks belong to the open file description: a second open of the same file, in this
  // process or another, conflicts; the kernel drops the lock if the process dies.
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK)
      return error{errc::locked, "task directory " + dir.string() + " is locked by another instance or owner"};
    return error{errc::io_error, "lock " + file.string() + ": " + std::strerror(err)};
  }
  return task_lock{std::string{task_id}, std::move(dir), fd};
}

expected<instance_claim> state_directory::claim_instance() const {
  // The directory id: read, or made once (written aside and linked into place, so a reader never
  // sees half of it and of two first starts at once the first link wins).
  const auto id_file = app_dir_ / "instance.id";
  std::string directory_id;
  std::ifstream{id_file} >> directory_id;
  if (directory_id.empty()) {
    std::random_device random;
    char text[17];
    std::snprintf(text, sizeof text, "%08x%08x", random(), random());
    const auto temporary = app_dir_ / ("instance.id." + std::to_string(::getpid()));
    std::ofstream{temporary} << text << '\n';
    std::error_code ec;
    std::filesystem::create_hard_link(temporary, id_file, ec); // fails if another start linked first
    std::filesystem::remove(temporary, ec);
    std::ifstream{id_file} >> directory_id;
    if (directory_id.empty())
      return error{errc::io_error, "cannot write " + id_file.string()};
  }
  for (int slot = 0;; ++slot) {
    const auto file = app_dir_ / (".instance-" + std::to_string(slot) + ".lock");
    int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
      return error{errc::io_error, "open " + file.string() + ": " + std::strerror(errno)};
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0)
      return instance_claim{directory_id + "-" + std::to_string(slot), fd};
    const int err = errno;
    ::close(fd);
    if (err != EWOULDBLOCK)
      return error{errc::io_error, "lock " + file.string() + ": " + std::strerror(err)};
  }
}

expected<void> state_directory::wipe(const task_lock& lock, std::string_view store_name) const {
  if (!valid_component(store_name) || store_name == lock_file_name)
    return invalid_component("store name", store_name);
  auto dir = lock.directory() / std::string{store_name};
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec)
    return error{errc::io_error, "wipe " + dir.string() + ": " + ec.message()};
  spdlog::info("wiped state store directory {}", dir.string());
  return ok();
}

expected<opened_leveldb_store> state_directory::open_leveldb_store(const task_lock& lock, std::string_view store_name,
                                                                   leveldb_store_options options) const {
  if (!valid_component(store_name) || store_name == lock_file_name)
    return invalid_component("store name", store_name);
  return leveldb_store::open(lock.directory() / std::string{store_name}, std::string{store_name}, std::move(options));
}

expected<std::vector<std::string>> state_directory::task_ids() const {
  std::vector<std::string> ids;
  std::error_code ec;
  for (std::filesystem::directory_iterator it{app_dir_, ec}, end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec))
      ids.push_back(it->path().filename().string());
  }
  if (ec)
    return error{errc::io_error, "list task directories in " + app_dir_.string() + ": " + ec.message()};
  return ids;
}

} // namespace sluice
