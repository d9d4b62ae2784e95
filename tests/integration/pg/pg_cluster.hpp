#pragma once
// A throwaway PostgreSQL 15 cluster for integration tests: initdb + pg_ctl on a free port in a
// temporary directory, run as the `postgres` user (runuser) when the test runs as root.
// TCP connections need a password (scram-sha-256), so tests exercise password handling.

#include <filesystem>
#include <string>
#include <vector>

namespace sluice::test {

/// Settings of a pg_cluster.
struct pg_cluster_options {
  /// Directory holding initdb/pg_ctl.
  std::string bin_dir = "/usr/lib/postgresql/15/bin";
  /// Password-authenticated role the tests connect as (owner of `database`).
  std::string user = "sluice";
  /// Its password: distinctive so tests can assert it never shows up in logs.
  std::string password = "Pw-Sluice-7f3a9c";
  /// Database created for the tests.
  std::string database = "sluice_test";
  /// Server logs every statement (log_statement=all), so tests can count queries server-side.
  bool log_statements = true;
};

/// One running PostgreSQL cluster; stopped and deleted in the destructor.
class pg_cluster {
public:
  /// initdb, start, create role and database; throws std::runtime_error on failure.
  explicit pg_cluster(pg_cluster_options options = {});
  /// Stops the server (fast mode) and removes the directory; never throws.
  ~pg_cluster();
  pg_cluster(const pg_cluster&) = delete;
  pg_cluster& operator=(const pg_cluster&) = delete;

  /// Starts the stopped server on the same port; waits until it accepts connections.
  void start();
  /// Stops the server (fast shutdown: open sessions are terminated); waits until down.
  void stop();
  /// True between start() and stop().
  bool running() const noexcept { return running_; }

  /// TCP port the server listens on (127.0.0.1).
  int port() const noexcept { return port_; }
  /// key=value conninfo for the test role, password included.
  std::string conninfo() const;
  /// postgresql:// URI for the test role, password included.
  std::string uri() const;
  /// Runs SQL as the test role (DDL, inserts, updates).
  void exec(const std::string& sql) const;
  /// The server's log file content up to now: while the server runs with log_statements, what
  /// follows a marker statement run now, once the marker was logged (the log is written in order).
  std::string server_log() const;

private:
  void run_as_owner(const std::vector<std::string>& argv, const std::string& output_file) const;

  pg_cluster_options options_;
  std::filesystem::path dir_;
  int port_ = 0;
  bool running_ = false;
};

/// A TCP port on 127.0.0.1 that was free a moment ago.
int free_tcp_port();

} // namespace sluice::test
