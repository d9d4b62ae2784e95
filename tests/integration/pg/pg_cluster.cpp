#include "pg_cluster.hpp"

#include <pqxx/pqxx>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace sluice::test {

namespace {

bool is_root() { return ::geteuid() == 0; }

} // namespace

int free_tcp_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("bind() to an ephemeral port failed");
  }
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

void pg_cluster::run_as_owner(const std::vector<std::string>& argv, const std::string& output_file) const {
  std::vector<std::string> full;
  if (is_root()) {
    full = {"runuser", "-u", "postgres", "--"};
  }
  full.insert(full.end(), argv.begin(), argv.end());
  std::vector<char*> args; // built before fork: no allocation in the child
  for (auto& a : full)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0)
    throw std::runtime_error("fork failed");
  if (pid == 0) {
    int fd = ::open(output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0)
      ::dup2(devnull, 0);
    if (::chdir(dir_.c_str()) != 0)
      ::_exit(126);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::ifstream in(output_file);
    std::stringstream ss;
    ss << in.rdbuf();
    throw std::runtime_error("command failed: " + argv.front() + " (see " + output_file + "):\n" + ss.str());
  }
}

pg_cluster::pg_cluster(pg_cluster_options options) : options_(std::move(options)) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "sluice-pg-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr)
    throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  if (is_root()) {
    passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr)
      throw std::runtime_error("running as root but there is no `postgres` user");
    if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0)
      throw std::runtime_error("chown of " + dir_.string() + " to postgres failed");
  }
  port_ = free_tcp_port();
  auto tool_log = (dir_ / "tools.log").string();
  // The superuser authenticates over the private unix socket only (trust); TCP needs a password.
  run_as_owner({options_.bin_dir + "/initdb", "-D", (dir_ / "data").string(), "-U", "postgres", "--auth-local=trust",
                "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"},
               tool_log);
  {
    std::ofstream conf(dir_ / "data" / "postgresql.conf", std::ios::app);
    conf << "\nport = " << port_ << "\nlisten_addresses = '127.0.0.1'\n"
         << "unix_socket_directories = '" << dir_.string() << "'\n"
         << "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
         << "shared_buffers = 16MB\nmax_connections = 40\n"
         << (options_.log_statements ? "log_statement = 'all'\n" : "");
  }
  start();
  pqxx::connection admin{"host=" + dir_.string() + " port=" + std::to_string(port_) + " user=postgres dbname=postgres"};
  pqxx::nontransaction tx{admin};
  tx.exec("CREATE ROLE " + tx.quote_name(options_.user) + " LOGIN PASSWORD " + tx.quote(options_.password));
  tx.exec("CREATE DATABASE " + tx.quote_name(options_.database) + " OWNER " + tx.quote_name(options_.user));
}

pg_cluster::~pg_cluster() {
  try {
    if (running_)
      stop();
  } catch (...) {
    // Last resort: the cluster might still run; pg_ctl stop failing is reported by the test log.
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void pg_cluster::start() {
  if (running_)
    return;
  run_as_owner({options_.bin_dir + "/pg_ctl", "-D", (dir_ / "data").string(), "-l", (dir_ / "server.log").string(),
                "-w", "-t", "60", "start"},
               (dir_ / "tools.log").string());
  running_ = true;
}

void pg_cluster::stop() {
  if (!running_)
    return;
  run_as_owner({options_.bin_dir + "/pg_ctl", "-D", (dir_ / "data").string(), "-m", "fast", "-w", "-t", "60", "stop"},
               (dir_ / "tools.log").string());
  running_ = false;
}

std::string pg_cluster::conninfo() const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=" + options_.user + " password=" + options_.password +
         " dbname=" + options_.database + " connect_timeout=5";
}

std::string pg_cluster::uri() const {
  return "postgresql://" + options_.user + ":" + options_.password + "@127.0.0.1:" + std::to_string(port_) + "/" +
         options_.database + "?connect_timeout=5";
}

void pg_cluster::exec(const std::string& sql) const {
  pqxx::connection conn{conninfo()};
  pqxx::nontransaction tx{conn};
  tx.exec(sql);
}

std::string pg_cluster::server_log() const {
  auto read = [this] {
    std::ifstream in(dir_ / "server.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  if (!running_ || !options_.log_statements)
    return read();
  static std::atomic<int> markers{0};
  const auto marker = "sluice-test-log-marker-" + std::to_string(++markers);
  exec("SELECT '" + marker + "'");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    auto text = read();
    if (text.find(marker) != std::string::npos)
      return text;
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("PostgreSQL did not log " + marker + " within 30 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

} // namespace sluice::test
