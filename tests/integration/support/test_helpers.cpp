#include "test_helpers.hpp"

#include <unistd.h>

#include <atomic>
#include <random>
#include <stdexcept>
#include <thread>

namespace sluice::test {

std::string unique_name(const std::string& prefix) {
  static std::atomic<int> counter{0};
  static const auto salt = std::random_device{}() % 100000;
  return prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(salt) + "-" + std::to_string(++counter);
}

temp_dir::temp_dir(const std::string& prefix) {
  std::string templ = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (mkdtemp(templ.data()) == nullptr)
    throw std::runtime_error("mkdtemp failed");
  path = templ;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

std::string tail_of(const child_process& child) {
  const auto text = child.stderr_text();
  return text.size() <= 4000 ? text : "..." + text.substr(text.size() - 4000);
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(poll);
  }
  return true;
}

std::vector<consumed_record> read_all(const kafka_test_client& client, const std::string& topic,
                                      std::chrono::milliseconds idle) {
  consume_options options;
  options.stop_at_end = true;
  options.idle_timeout = idle;
  options.total_timeout = std::chrono::seconds{30};
  return client.consume(topic, options);
}

} // namespace sluice::test
