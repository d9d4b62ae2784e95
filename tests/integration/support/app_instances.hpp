#pragma once
// The instances of one app under test: child processes of one app binary sharing an
// application.id, each with its own state directory, all with the settings the end-to-end tests
// use. Starts them, tells which partitions each holds (from its log), SIGKILLs and restarts one,
// and stops them cleanly.

#include "child_process.hpp"
#include "test_helpers.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace sluice::test {

// idle.timeout.ms of every app instance the end-to-end tests start: an input that is caught up
// and sends nothing for this long stops holding event time back.
inline constexpr std::chrono::milliseconds app_idle_timeout{1000};

// Environment of every app instance the tests start: SLUICE_IDLE_TIMEOUT_MS (idle.timeout.ms) set
// to `idle_timeout`; tests that start an app child themselves pass it too.
std::vector<std::pair<std::string, std::string>>
app_environment(std::chrono::milliseconds idle_timeout = app_idle_timeout);

// A partition of a topic, e.g. {"cpu-in", 3}.
using topic_partition = std::pair<std::string, int>;

// The partitions a sluice app holds according to its log (stderr): the "assigned N partition(s):
// t-0, t-1, ..." lines minus the later "revoked"/"lost" ones.
std::set<topic_partition> assigned_partitions(const std::string& log);

class app_instances {
public:
  // `count` instances of the built binary `binary` with the app's own `args` (topics, options) and
  // these common ones: bootstrap servers, a fresh application.id, an own state directory each,
  // commits every 200 ms, a 6 s session timeout (quick rebalances after a kill) and
  // app_environment(). Nothing runs before start().
  app_instances(std::string binary, std::vector<std::string> args, std::string bootstrap_servers, int count);

  // idle.timeout.ms of the instances started from now on (app_idle_timeout unless set).
  void set_idle_timeout(std::chrono::milliseconds timeout) { idle_timeout_ = timeout; }

  // Starts every instance.
  void start();

  // Number of instances.
  int size() const { return static_cast<int>(slots_.size()); }

  // The application.id they share (prefix of their internal topics).
  const std::string& application_id() const { return application_id_; }

  // Instance `i` (started).
  child_process& operator[](int i) { return *slots_.at(static_cast<std::size_t>(i)).process; }

  // True while every instance runs.
  bool all_running();

  // Waits until every instance holds some partition of the topics in `partitions_of` (topic ->
  // partition count) and together they hold all of them; false after `timeout`.
  bool wait_until_assigned(const std::map<std::string, int>& partitions_of,
                           std::chrono::milliseconds timeout = std::chrono::seconds{40});

  // SIGKILLs instance `i`, waits for it to die, and starts it again on the same state directory.
  // Returns false if it did not die within 5 s.
  bool kill_and_restart(int i);

  // SIGTERMs every instance; returns "" if all exited with code 0 within 30 s, else what went wrong.
  std::string stop();

  // The end of every instance's log, for failure messages.
  std::string logs() const;

private:
  struct slot {
    std::unique_ptr<temp_dir> state;
    std::unique_ptr<child_process> process;
  };
  void start(slot& s);

  std::string binary_;
  std::chrono::milliseconds idle_timeout_ = app_idle_timeout;
  std::vector<std::string> args_;
  std::string bootstrap_servers_;
  std::string application_id_;
  std::vector<slot> slots_;
};

} // namespace sluice::test
