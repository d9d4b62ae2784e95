#include "bench_support.hpp"

#include "actors/kafka_client.hpp"
#include "embedded_broker.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace sluice::bench {

using clock_type = std::chrono::steady_clock;

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

namespace {

// VmRSS, VmHWM, RssAnon and RssFile from a /proc/<pid>/status file.
memory_figures read_memory(const std::string& status_path) {
  std::ifstream status(status_path);
  memory_figures m;
  std::string line;
  while (std::getline(status, line))
    if (line.starts_with("VmRSS:"))
      m.rss_kib = std::stol(line.substr(6));
    else if (line.starts_with("VmHWM:"))
      m.hwm_kib = std::stol(line.substr(6));
    else if (line.starts_with("RssAnon:"))
      m.anon_kib = std::stol(line.substr(8));
    else if (line.starts_with("RssFile:"))
      m.file_kib = std::stol(line.substr(8));
  return m;
}

} // namespace

long vm_hwm_kib() { return read_memory("/proc/self/status").hwm_kib; }

memory_figures memory_of(pid_t pid) { return read_memory("/proc/" + std::to_string(pid) + "/status"); }

double cpu_seconds_of(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  std::getline(stat, text);
  const auto paren = text.rfind(')'); // the command name may hold spaces and parentheses
  if (paren == std::string::npos)
    return -1;
  std::istringstream fields(text.substr(paren + 2)); // from field 3, the state
  std::string field;
  for (int i = 3; i < 14; ++i) // skip to field 14, utime; 15 is stime (clock ticks)
    fields >> field;
  double utime = 0, stime = 0;
  if (!(fields >> utime >> stime))
    return -1;
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

void check(rd_kafka_resp_err_t err, const std::string& what) {
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw std::runtime_error(what + ": " + rd_kafka_err2str(err));
}

void produce(rd_kafka_t* rk, const std::string& topic, std::int32_t partition, std::string_view key,
             std::string_view value, int wait_ms) {
  for (;;) {
    const auto err = rd_kafka_producev(
      rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_KEY(key.data(), key.size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()) /* copied: F_COPY */,
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
      return;
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
      check(err, "produce");
    rd_kafka_poll(rk, wait_ms);
  }
}

rd_kafka_t* make_client(rd_kafka_type_t type, const std::map<std::string, std::string>& settings) {
  return make_kafka_client(type, {settings}, "bench client").release();
}

std::pair<std::int64_t, std::int64_t> watermark_sums(rd_kafka_t* rk, const std::string& topic, int partitions) {
  std::int64_t lows = 0, highs = 0;
  for (int p = 0; p < partitions; ++p) {
    std::int64_t low = 0, high = 0;
    check(rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &low, &high, 10000), "watermarks of " + topic);
    lows += low;
    highs += high;
  }
  return {lows, highs};
}

void assign_from_beginning(rd_kafka_t* rk, const std::string& topic, int partitions) {
  auto* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p)
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  const auto err = rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  check(err, "assign " + topic);
}

void verify_by_consuming(const std::string& bootstrap, const std::string& topic, int partitions,
                         std::int64_t expected) {
  rd_kafka_t* rk =
    make_client(RD_KAFKA_CONSUMER,
                {{"bootstrap.servers", bootstrap}, {"group.id", "bench-verify"}, {"enable.partition.eof", "true"}});
  assign_from_beginning(rk, topic, partitions);
  std::int64_t count = 0;
  int eofs = 0;
  const auto deadline = clock_type::now() + std::chrono::seconds(300);
  while (eofs < partitions && clock_type::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 1000);
    if (m == nullptr)
      continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
      ++eofs; // once per partition as long as nothing new arrives, which holds: production is over
    else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
      ++count;
    else
      std::fprintf(stderr, "verify: %s\n", rd_kafka_message_errstr(m));
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  if (count != expected)
    throw std::runtime_error("input verification: read " + std::to_string(count) + " records of " + topic +
                             ", produced " + std::to_string(expected));
}

void set_rtt(embedded_broker& broker, int rtt_ms) {
  for (int id = 1; rtt_ms > 0 && id <= broker.broker_count(); ++id)
    broker.set_rtt(id, std::chrono::milliseconds{rtt_ms});
}

void print_result(const phase_result& r, const std::map<std::string, double>& extra) {
  std::printf("result records=%lld seconds=%.6f wall_seconds=%.6f cpu_seconds=%.6f rss_kib=%ld",
              static_cast<long long>(r.records), r.seconds, r.wall_seconds, r.cpu_seconds, r.rss_kib);
  if (r.checksum)
    std::printf(" checksum=%llu", static_cast<unsigned long long>(r.checksum));
  for (const auto& [k, v] : extra)
    std::printf(" %s=%.6f", k.c_str(), v);
  std::printf("\n");
  std::fflush(stdout);
}

phase_result measured(std::int64_t records, const mark& start, const mark& first, const mark& last) {
  phase_result r;
  r.records = records;
  r.seconds = std::chrono::duration<double>(last.at - first.at).count();
  r.wall_seconds = std::chrono::duration<double>(last.at - start.at).count();
  r.cpu_seconds = last.cpu - first.cpu;
  r.rss_kib = vm_hwm_kib();
  return r;
}

bool bare_consume(const std::string& bootstrap, const std::string& topic, int partitions, std::int64_t records,
                  std::chrono::seconds timeout, phase_result& out, const record_visitor& visit) {
  const mark start;
  rd_kafka_t* rk = make_client(
    RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap}, {"group.id", "bench-bare"}, {"enable.auto.commit", "false"}});
  assign_from_beginning(rk, topic, partitions);
  std::int64_t count = 0;
  std::uint64_t checksum = 0;
  mark first;
  const auto deadline = start.at + timeout;
  while (count < records && clock_type::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr)
      continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (count++ == 0)
        first = mark{};
      if (visit) {
        visit(*m);
      } else {
        const auto* p = static_cast<const unsigned char*>(m->payload);
        for (size_t i = 0; i < m->len; ++i) // touch every byte, as a parser would
          checksum = checksum * 31 + p[i];
      }
    }
    rd_kafka_message_destroy(m);
  }
  const mark last;
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  if (count < records) {
    std::fprintf(stderr, "bare consumer: only %lld of %lld records within %llds\n", static_cast<long long>(count),
                 static_cast<long long>(records), static_cast<long long>(timeout.count()));
    return false;
  }
  out = measured(count, start, first, last);
  out.checksum = checksum;
  return true;
}

child_process::child_process(const std::vector<std::string>& args) {
  const auto exe = std::filesystem::read_symlink("/proc/self/exe").string();
  command_ = exe;
  for (const auto& a : args)
    command_ += " " + a;
  std::vector<char*> argv{const_cast<char*>(exe.c_str())};
  for (const auto& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string{"pipe: "} + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO); // dup2 clears O_CLOEXEC on stdout
  const int err = posix_spawn(&pid_, exe.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (err != 0) {
    close(fds[0]);
    throw std::runtime_error("cannot run " + command_ + ": " + std::strerror(err));
  }
  out_ = fdopen(fds[0], "r");
}

child_process::~child_process() {
  if (!status_) {
    kill(pid_, SIGKILL);
    wait();
  }
  if (out_ != nullptr)
    std::fclose(out_);
}

std::optional<std::string> child_process::read_line() {
  char* line = nullptr;
  size_t capacity = 0;
  const auto n = getline(&line, &capacity, out_);
  std::optional<std::string> text;
  if (n >= 0)
    text.emplace(line, static_cast<size_t>(n) - (n > 0 && line[n - 1] == '\n' ? 1 : 0));
  std::free(line);
  return text;
}

void child_process::signal(int signal_number) {
  if (!status_)
    kill(pid_, signal_number);
}

int child_process::wait() {
  while (!status_) {
    int status = 0;
    if (waitpid(pid_, &status, 0) == pid_)
      status_ = status;
    else if (errno != EINTR)
      status_ = -1; // not a child of this process (any more)
  }
  return *status_;
}

std::map<std::string, double> parse_result(const std::string& line) {
  std::map<std::string, double> fields;
  std::istringstream items(line.starts_with("result ") ? line.substr(7) : line);
  std::string item;
  while (items >> item)
    if (const auto eq = item.find('='); eq != std::string::npos)
      fields[item.substr(0, eq)] = std::stod(item.substr(eq + 1));
  return fields;
}

std::map<std::string, double> run_child(const std::vector<std::string>& args) {
  child_process child{args};
  std::string out;
  std::optional<std::string> result;
  while (auto line = child.read_line()) {
    out += *line + "\n";
    if (!result && line->starts_with("result "))
      result = *line;
  }
  const int status = child.wait();
  if (status != 0 || !result)
    throw std::runtime_error("phase failed (status " + std::to_string(status) + "): " + child.command() + "\n" + out);
  return parse_result(*result);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string rate_text(const std::map<std::string, double>& r) {
  char text[160];
  std::snprintf(text, sizeof(text), "%9.0f records/s  CPU %4.0f %%  %9.0f records/CPU-s",
                r.at("records") / r.at("seconds"), 100 * r.at("cpu_seconds") / r.at("seconds"),
                r.at("records") / r.at("cpu_seconds"));
  return text;
}

sluice::streams_config phase_config(const std::string& application_id, const std::string& bootstrap,
                                    const std::filesystem::path& state_dir, int threads,
                                    const std::vector<std::string>& settings) {
  sluice::streams_config config;
  config.application_id = application_id;
  config.bootstrap_servers = bootstrap;
  config.state_dir = state_dir.string();
  config.num_stream_threads = threads;
  config.log_level = "warn";
  for (const auto& s : settings) {
    const auto eq = s.find('=');
    if (eq == std::string::npos)
      throw std::invalid_argument("--set " + s + ": want key=value");
    config.set(s.substr(0, eq), s.substr(eq + 1));
  }
  return config;
}

} // namespace sluice::bench
