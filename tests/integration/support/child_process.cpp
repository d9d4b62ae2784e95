#include "child_process.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>
#include <thread>

extern char** environ;

namespace sluice::test {

namespace {

constexpr auto poll_interval = std::chrono::milliseconds(10);

std::string read_file(const std::filesystem::path& path) {
  if (path.empty())
    return {};
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

exit_status decode(int raw) {
  exit_status status;
  status.exited = WIFEXITED(raw);
  status.code = status.exited ? WEXITSTATUS(raw) : 0;
  status.signal = WIFSIGNALED(raw) ? WTERMSIG(raw) : 0;
  return status;
}

// Builds the child's environment: the parent's, with `overrides` replacing or adding variables.
std::vector<std::string> make_environment(const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::vector<std::string> result;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const auto name = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& [key, value] : overrides)
      replaced = replaced || key == name;
    if (!replaced)
      result.push_back(entry);
  }
  for (const auto& [key, value] : overrides)
    result.push_back(key + "=" + value);
  return result;
}

} // namespace

std::string to_string(const exit_status& status) {
  if (status.exited)
    return "exit code " + std::to_string(status.code);
  return "signal " + std::to_string(status.signal) + " (" + strsignal(status.signal) + ")";
}

child_process::child_process(std::filesystem::path program, std::vector<std::string> args, child_options options) {
  if (!options.inherit_output) {
    output_directory_ = options.output_directory;
    if (output_directory_.empty()) {
      std::string pattern = (std::filesystem::temp_directory_path() / "sluice-child-XXXXXX").string();
      if (mkdtemp(pattern.data()) == nullptr)
        throw std::system_error(errno, std::generic_category(), "mkdtemp");
      output_directory_ = pattern;
      remove_output_ = !options.keep_output;
    }
    std::filesystem::create_directories(output_directory_);
    stdout_path_ = output_directory_ / "stdout.log";
    stderr_path_ = output_directory_ / "stderr.log";
  }

  // Everything the child needs is prepared before fork(): after it, only async-signal-safe calls.
  std::vector<std::string> argv_storage;
  argv_storage.push_back(program.string());
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  auto env_storage = make_environment(options.env);
  std::vector<char*> envp;
  for (auto& e : env_storage)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  const std::string working_directory = options.working_directory.string();
  const std::string out_path = stdout_path_.string();
  const std::string err_path = stderr_path_.string();

  // The child reports a failed exec through this close-on-exec pipe; EOF means exec succeeded.
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0)
    throw std::system_error(errno, std::generic_category(), "pipe2");
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) {
    const int err = errno;
    close(report[0]);
    close(report[1]);
    throw std::system_error(err, std::generic_category(), "fork");
  }
  if (pid_ == 0) {
    close(report[0]);
    auto fail = [&](int err) {
      (void)!write(report[1], &err, sizeof(err));
      _exit(127);
    };
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(127);
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (!out_path.empty()) {
      const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (out < 0 || err < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0)
        fail(errno);
    }
    const int null_in = open("/dev/null", O_RDONLY);
    if (null_in >= 0)
      dup2(null_in, STDIN_FILENO);
    if (!working_directory.empty() && chdir(working_directory.c_str()) != 0)
      fail(errno);
    execve(argv[0], argv.data(), envp.data());
    fail(errno);
  }
  close(report[1]);
  int child_errno = 0;
  ssize_t n;
  do
    n = read(report[0], &child_errno, sizeof(child_errno));
  while (n < 0 && errno == EINTR);
  close(report[0]);
  if (n > 0) {
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
    if (remove_output_)
      std::filesystem::remove_all(output_directory_);
    throw std::system_error(child_errno, std::generic_category(), "cannot execute " + program.string());
  }
}

child_process::~child_process() {
  if (pid_ > 0 && !status_) {
    ::kill(-pid_, SIGKILL); // the child's whole process group
    ::kill(pid_, SIGKILL);
    int raw = 0;
    while (waitpid(pid_, &raw, 0) < 0 && errno == EINTR) {
    }
  }
  if (remove_output_) {
    std::error_code ignored;
    std::filesystem::remove_all(output_directory_, ignored);
  }
}

bool child_process::running() {
  if (status_)
    return false;
  int raw = 0;
  if (waitpid(pid_, &raw, WNOHANG) == pid_)
    status_ = decode(raw);
  return !status_;
}

std::optional<exit_status> child_process::wait_for(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(poll_interval);
  running();
  return status_;
}

void child_process::send_signal(int signal_number) {
  if (!status_)
    ::kill(pid_, signal_number);
}

std::optional<std::string> child_process::first_stdout_line(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const bool alive = running(); // read after checking, so output of an ended child is complete
    const auto text = stdout_text();
    if (const auto newline = text.find('\n'); newline != std::string::npos)
      return text.substr(0, newline);
    if (!alive || std::chrono::steady_clock::now() >= deadline)
      return std::nullopt;
    std::this_thread::sleep_for(poll_interval);
  }
}

bool child_process::wait_for_output(const std::string& text, std::chrono::milliseconds timeout, bool in_stderr) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const bool alive = running();
    if ((in_stderr ? stderr_text() : stdout_text()).find(text) != std::string::npos)
      return true;
    if (!alive || std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(poll_interval);
  }
}

std::string child_process::stdout_text() const { return read_file(stdout_path_); }

std::string child_process::stderr_text() const { return read_file(stderr_path_); }

} // namespace sluice::test
