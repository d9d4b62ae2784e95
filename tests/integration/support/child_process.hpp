#pragma once
// A child process for integration tests: fork/exec with arguments and environment, stdout and stderr
// captured to files, first-line reading, waiting with a timeout, signals. The destructor always
// kills (SIGKILL) and reaps a child that is still running, so no test leaves processes behind.

#include <sys/types.h>

#include <csignal>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sluice::test {

// How the child ended.
struct exit_status {
  bool exited = false; // true: exited normally with `code`; false: killed by `signal`
  int code = 0;        // exit code if exited
  int signal = 0;      // terminating signal if !exited
  // True if the child exited normally with code 0.
  bool success() const { return exited && code == 0; }
};

// Describes an exit_status for assertion messages, e.g. "exit code 1" or "signal 9 (Killed)".
std::string to_string(const exit_status& status);

struct child_options {
  // Variables set on top of (or replacing those of) the parent's environment.
  std::vector<std::pair<std::string, std::string>> env = {};
  // Working directory of the child; empty: the parent's.
  std::filesystem::path working_directory = {};
  // Directory for stdout.log / stderr.log; empty: a fresh directory under the system temp dir,
  // removed by the destructor unless keep_output is set.
  std::filesystem::path output_directory = {};
  // Keep the output files after destruction (for debugging a failing test).
  bool keep_output = false;
  // Let stdout/stderr go to the parent's instead of files (stdout_text() etc. return "").
  bool inherit_output = false;
};

class child_process {
public:
  // Starts `program` (a path; no PATH lookup) with `args` (argv[1..]). The child gets SIGKILL if
  // the thread that started it ends (PR_SET_PDEATHSIG), and its own process group.
  // Throws std::system_error if the program cannot be executed.
  child_process(std::filesystem::path program, std::vector<std::string> args, child_options options = {});

  // Sends SIGKILL if the child still runs, reaps it, and removes temporary output files.
  ~child_process();

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  // Process id of the child.
  pid_t pid() const { return pid_; }

  // True until the child has been reaped by wait_for()/running() after it ended.
  bool running();

  // Waits up to `timeout` for the child to end; returns its status, or nullopt if it still runs.
  std::optional<exit_status> wait_for(std::chrono::milliseconds timeout);

  // Sends `signal_number` to the child (no-op if it has been reaped).
  void send_signal(int signal_number);

  // Sends SIGTERM.
  void terminate() { send_signal(SIGTERM); }

  // Sends SIGKILL.
  void kill() { send_signal(SIGKILL); }

  // Waits up to `timeout` for the first complete line of stdout; returns it without the newline,
  // or nullopt on timeout or if the child ended without writing one.
  std::optional<std::string> first_stdout_line(std::chrono::milliseconds timeout);

  // Waits up to `timeout` until stdout or stderr (per `in_stderr`) contains `text`.
  bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout, bool in_stderr = false);

  // Everything the child wrote to stdout so far.
  std::string stdout_text() const;

  // Everything the child wrote to stderr so far.
  std::string stderr_text() const;

  // Paths of the capture files (empty with inherit_output).
  const std::filesystem::path& stdout_path() const { return stdout_path_; }
  const std::filesystem::path& stderr_path() const { return stderr_path_; }

private:
  pid_t pid_ = -1;
  std::optional<exit_status> status_;
  std::filesystem::path output_directory_;
  bool remove_output_ = false;
  std::filesystem::path stdout_path_;
  std::filesystem::path stderr_path_;
};

} // namespace sluice::test
