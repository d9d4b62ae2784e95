#include "app_instances.hpp"

#include "paths.hpp"

#include <regex>
#include <sstream>

namespace sluice::test {

std::vector<std::pair<std::string, std::string>> app_environment(std::chrono::milliseconds idle_timeout) {
  return {{"SLUICE_IDLE_TIMEOUT_MS", std::to_string(idle_timeout.count())}};
}

std::set<topic_partition> assigned_partitions(const std::string& log) {
  static const std::regex line(R"((assigned|revoked|lost) \d+ partition\(s\): ([^(]*) \()");
  std::set<topic_partition> held;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), line); it != std::sregex_iterator(); ++it) {
    const bool assigned = (*it)[1] == "assigned";
    std::istringstream names((*it)[2].str());
    for (std::string name; std::getline(names >> std::ws, name, ',');) {
      const auto dash = name.rfind('-');
      if (dash == std::string::npos)
        continue;
      const topic_partition p{name.substr(0, dash), std::stoi(name.substr(dash + 1))};
      if (assigned)
        held.insert(p);
      else
        held.erase(p);
    }
  }
  return held;
}

app_instances::app_instances(std::string binary, std::vector<std::string> args, std::string bootstrap_servers,
                             int count)
    : binary_(std::move(binary)), args_(std::move(args)), bootstrap_servers_(std::move(bootstrap_servers)),
      application_id_(unique_name(binary_)), slots_(static_cast<std::size_t>(count)) {
  for (auto& s : slots_)
    s.state = std::make_unique<temp_dir>("sluice-app-state");
}

void app_instances::start(slot& s) {
  std::vector<std::string> args = {"--bootstrap-servers",
                                   bootstrap_servers_,
                                   "--application-id",
                                   application_id_,
                                   "--state-dir",
                                   s.state->path.string(),
                                   "--commit-interval-ms",
                                   "200",
                                   "--set",
                                   "kafka.consumer.session.timeout.ms=6000",
                                   "--set",
                                   "kafka.consumer.heartbeat.interval.ms=500"};
  args.insert(args.end(), args_.begin(), args_.end());
  s.process =
    std::make_unique<child_process>(built_binary(binary_), args, child_options{.env = app_environment(idle_timeout_)});
}

void app_instances::start() {
  for (auto& s : slots_)
    start(s);
}

bool app_instances::all_running() {
  for (auto& s : slots_)
    if (!s.process || !s.process->running())
      return false;
  return true;
}

bool app_instances::wait_until_assigned(const std::map<std::string, int>& partitions_of,
                                        std::chrono::milliseconds timeout) {
  return wait_until(
    [&] {
      std::set<topic_partition> all;
      for (auto& s : slots_) {
        bool holds_some = false;
        for (const auto& p : assigned_partitions(s.process->stderr_text()))
          if (partitions_of.contains(p.first)) {
            all.insert(p);
            holds_some = true;
          }
        if (!holds_some)
          return false;
      }
      std::size_t expected = 0;
      for (const auto& [topic, n] : partitions_of)
        expected += static_cast<std::size_t>(n);
      return all.size() == expected;
    },
    timeout, std::chrono::milliseconds{100});
}

bool app_instances::kill_and_restart(int i) {
  auto& s = slots_.at(static_cast<std::size_t>(i));
  s.process->kill();
  const auto status = s.process->wait_for(std::chrono::seconds{5});
  if (!status)
    return false;
  start(s);
  return true;
}

std::string app_instances::stop() {
  for (auto& s : slots_)
    s.process->terminate();
  std::string problems;
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    const auto status = slots_[i].process->wait_for(std::chrono::seconds{30});
    if (!status)
      problems += "instance " + std::to_string(i) + " ignored SIGTERM\n";
    else if (!status->success())
      problems += "instance " + std::to_string(i) + " ended with " + to_string(*status) + "\n";
  }
  return problems.empty() ? "" : problems + logs();
}

std::string app_instances::logs() const {
  std::string out;
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    if (!slots_[i].process)
      continue;
    // The log without the topology printed at start (its lines are indented).
    std::string log;
    std::istringstream lines(slots_[i].process->stderr_text());
    for (std::string line; std::getline(lines, line);)
      if (!line.empty() && line[0] != ' ' && line != "Topologies:" && line != "Internal topics:")
        log += line + "\n";
    if (log.size() > 3000)
      log = "..." + log.substr(log.size() - 3000);
    out += "--- " + binary_ + " instance " + std::to_string(i) + ":\n" + log;
  }
  return out;
}

} // namespace sluice::test
