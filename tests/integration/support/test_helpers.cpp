#include "test_helpers.hpp"

#include "actors/http_server.hpp"

#include <unistd.h>

#include <atomic>
#include <random>
#include <sstream>
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

sluice::streams_config app_config(const std::string& application_id, const std::string& bootstrap_servers,
                                  const std::filesystem::path& state_dir) {
  sluice::streams_config config;
  config.application_id = application_id;
  config.bootstrap_servers = bootstrap_servers;
  config.state_dir = state_dir.string();
  return config;
}

std::string tail_of(const child_process& child) {
  const auto text = child.stderr_text();
  const auto crash = text.rfind("sluice: fatal signal"); // a crash report stays whole
  const auto end = crash == std::string::npos ? text.size() : crash;
  const auto begin = end > 4000 ? end - 4000 : 0;
  return (begin > 0 ? "..." : "") + text.substr(begin);
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll) {
  const auto deadline = std::chrono::steady_clock::now() + timeout * SLUICE_TEST_TIME_SCALE;
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

http_answer http_get(const std::string& base, const std::string& path) {
  auto server = base.substr(base.find("//") + 2); // base: http://host:port/
  server = server.substr(0, server.find('/'));
  auto answer = sluice::http_get(server, path, std::chrono::seconds(30));
  return {answer.status, std::move(answer.body)};
}

std::optional<double> metric_sum(const std::string& metrics, const std::string& name,
                                 const std::vector<std::pair<std::string, std::string>>& labels) {
  std::optional<double> sum;
  std::istringstream in{metrics};
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#')
      continue;
    const auto end_of_name = line.find_first_of("{ ");
    if (line.compare(0, end_of_name, name) != 0 || end_of_name != name.size())
      continue;
    const auto space = line.rfind(' ');
    const auto label_text = line.substr(end_of_name, space - end_of_name);
    bool match = true;
    for (const auto& [k, v] : labels)
      match = match && label_text.find(k + "=\"" + v + "\"") != std::string::npos;
    if (match)
      sum = sum.value_or(0) + std::stod(line.substr(space + 1));
  }
  return sum;
}

} // namespace sluice::test
