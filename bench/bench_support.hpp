// Scaffolding shared by the benchmarks: librdkafka clients, the bare-consumer ceiling phase,
// re-executing the bench for one phase in a child process, and the figures every bench prints
// (records/s, CPU utilisation, records per CPU-second, peak RSS; a child's RSS and CPU while it runs).
#pragma once

#include <sluice/streams_config.hpp>

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace sluice {
class embedded_broker;
}

namespace sluice::bench {

/// This process's user + system CPU time so far, in seconds (getrusage RUSAGE_SELF).
double cpu_seconds();

/// This process's peak resident set size in KiB (VmHWM), or -1.
long vm_hwm_kib();

/// Resident set figures of a process, in KiB (-1 where /proc does not say).
struct memory_figures {
  long rss_kib = -1;  ///< VmRSS: resident now
  long hwm_kib = -1;  ///< VmHWM: peak resident so far
  long anon_kib = -1; ///< RssAnon: the part of VmRSS that is anonymous memory (heap, stacks)
  long file_kib = -1; ///< RssFile: the part of VmRSS that maps files (code, mmapped data files)
};

/// VmRSS, VmHWM, RssAnon and RssFile of process `pid`, from /proc/<pid>/status.
memory_figures memory_of(pid_t pid);

/// User + system CPU seconds process `pid` has used so far, all its threads (/proc/<pid>/stat), or -1.
double cpu_seconds_of(pid_t pid);

/// Throws std::runtime_error with `what` and librdkafka's message if `err` is set.
void check(rd_kafka_resp_err_t err, const std::string& what);

/// Produces a copy of `key` and `value` to `topic`-`partition`; while the producer's queue is full,
/// serves its delivery reports for up to `wait_ms` and tries again; throws on any other error.
void produce(rd_kafka_t* rk, const std::string& topic, std::int32_t partition, std::string_view key,
             std::string_view value, int wait_ms = 50);

/// A client of `type` with `settings`; throws on a bad setting.
rd_kafka_t* make_client(rd_kafka_type_t type, const std::map<std::string, std::string>& settings);

/// Sums of the (low, high) watermarks of `topic`'s partitions 0..partitions-1.
std::pair<std::int64_t, std::int64_t> watermark_sums(rd_kafka_t* rk, const std::string& topic, int partitions);

/// Assigns partitions 0..partitions-1 of `topic` to consumer `rk`, each from its beginning.
void assign_from_beginning(rd_kafka_t* rk, const std::string& topic, int partitions);

/// Reads `topic` to its end from `bootstrap` and throws std::runtime_error unless it holds exactly
/// `expected` records (the input of a bench, verified before any phase runs).
void verify_by_consuming(const std::string& bootstrap, const std::string& topic, int partitions, std::int64_t expected);

/// Adds `rtt_ms` of round-trip time to every broker of `broker` (0: none).
void set_rtt(embedded_broker& broker, int rtt_ms);

/// What a measured phase reports on its "result ..." line.
struct phase_result {
  std::int64_t records = 0;
  double seconds = 0;         ///< first record to last
  double wall_seconds = 0;    ///< phase start to last record (connecting, group join included)
  double cpu_seconds = 0;     ///< user + system CPU of the phase's process over `seconds`
  long rss_kib = 0;           ///< peak RSS of the phase's process
  std::uint64_t checksum = 0; ///< bare phase: over every payload byte read (printed, so the reads count)
};

/// Prints `r` as the "result key=value ..." line `run_child` parses, with `extra` fields appended.
void print_result(const phase_result& r, const std::map<std::string, double>& extra = {});

/// A steady clock reading together with the process's CPU time, taken at the same moment.
struct mark {
  std::chrono::steady_clock::time_point at = std::chrono::steady_clock::now();
  double cpu = cpu_seconds();
};

/// The phase figures between `first` (first record) and `last`, started at `start`.
phase_result measured(std::int64_t records, const mark& start, const mark& first, const mark& last);

/// What a bare consumer does with each record it reads.
using record_visitor = std::function<void(const rd_kafka_message_t&)>;

/// The bare-consumer ceiling: a librdkafka consumer assigned partitions 0..partitions-1 of `topic`
/// from the beginning reads `records` records (default settings) and passes each to `visit`, or
/// without one touches every payload byte. Returns false (saying why on stderr) if fewer arrive
/// within `timeout`.
bool bare_consume(const std::string& bootstrap, const std::string& topic, int partitions, std::int64_t records,
                  std::chrono::seconds timeout, phase_result& out, const record_visitor& visit = {});

/// This executable re-executed with `args` in a child process: its stdout comes through a pipe,
/// its stderr is this process's. Destroying a child that still runs kills and reaps it.
class child_process {
public:
  /// Starts the child; throws std::runtime_error if it cannot.
  explicit child_process(const std::vector<std::string>& args);
  /// Kills (SIGKILL) and reaps the child unless `wait()` reaped it.
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// The child's process id.
  pid_t pid() const { return pid_; }
  /// The command line, for messages.
  const std::string& command() const { return command_; }
  /// The child's next stdout line without its newline; nullopt once it closed stdout.
  std::optional<std::string> read_line();
  /// Sends `signal_number` (e.g. SIGTERM) to the child.
  void signal(int signal_number);
  /// Waits until the child exited and returns its wait status (0: exit code 0).
  int wait();

private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  std::optional<int> status_;
  std::string command_;
};

/// The key=value fields of a "result key=value ..." line, as `print_result` writes it.
std::map<std::string, double> parse_result(const std::string& line);

/// The configuration of a streams phase: `application_id` on `bootstrap`, state in `state_dir`,
/// `threads` scheduler threads (0: one per core), log level warn, then each "key=value" of
/// `settings` in order (--set); throws std::invalid_argument for one without '='.
sluice::streams_config phase_config(const std::string& application_id, const std::string& bootstrap,
                                    const std::filesystem::path& state_dir, int threads,
                                    const std::vector<std::string>& settings);

/// Runs this executable with `args`, returns the fields of its "result ..." line; throws if it fails.
std::map<std::string, double> run_child(const std::vector<std::string>& args);

/// The median of `v` (not empty).
double median(std::vector<double> v);

/// "  1234567 records/s  CPU  93 %  1327000 records/CPU-s" for the fields of a result line.
std::string rate_text(const std::map<std::string, double>& result);

} // namespace sluice::bench
