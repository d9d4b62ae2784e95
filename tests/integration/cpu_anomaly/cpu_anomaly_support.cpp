#include "cpu_anomaly_support.hpp"

#include <boost/json.hpp>
#include <unistd.h>

#include <atomic>
#include <random>
#include <regex>
#include <stdexcept>
#include <thread>

namespace sluice::test::cpu_anomaly {

namespace json = boost::json;

namespace {

constexpr double usage_threshold = 80.0; // the tutorial's rule, restated here on purpose

json::value parse_or_throw(const std::string& text, const char* what) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec)
    throw std::invalid_argument(std::string(what) + " is not JSON (" + ec.message() + "): " + text);
  return v;
}

const json::value& field(const json::object& o, const char* name, const std::string& text) {
  const auto* v = o.if_contains(name);
  if (v == nullptr)
    throw std::invalid_argument(std::string("field '") + name + "' missing: " + text);
  return *v;
}

double number_of(const json::value& v, const char* name, const std::string& text) {
  switch (v.kind()) {
  case json::kind::double_:
    return v.get_double();
  case json::kind::int64:
    return static_cast<double>(v.get_int64());
  case json::kind::uint64:
    return static_cast<double>(v.get_uint64());
  default:
    throw std::invalid_argument(std::string("field '") + name + "' is not a number: " + text);
  }
}

std::int64_t integer_of(const json::value& v, const char* name, const std::string& text) {
  if (v.is_int64())
    return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v.get_uint64());
  throw std::invalid_argument(std::string("field '") + name + "' is not an integer: " + text);
}

std::string string_of(const json::value& v, const char* name, const std::string& text) {
  if (!v.is_string())
    throw std::invalid_argument(std::string("field '") + name + "' is not a string: " + text);
  return std::string(v.get_string());
}

std::string canonical_key(const consumed_record& r) {
  if (!r.key)
    return "";
  return json::serialize(parse_or_throw(*r.key, "key"));
}

} // namespace

std::optional<output_row> expected_output(const consumed_record& input) {
  if (!input.value)
    throw std::invalid_argument("null value");
  const std::string& text = *input.value;
  const json::value v = parse_or_throw(text, "value");
  if (!v.is_object())
    throw std::invalid_argument("value is not an object: " + text);
  const auto& o = v.get_object();
  const double usage = number_of(field(o, "usage", text), "usage", text);
  if (!(usage > usage_threshold))
    return std::nullopt;
  output_row row;
  row.key = canonical_key(input);
  row.time_ltz = integer_of(field(o, "occurred_at", text), "occurred_at", text);
  row.hostname = string_of(field(o, "hostname", text), "hostname", text);
  row.cpu = string_of(field(o, "cpu", text), "cpu", text);
  row.usage = usage;
  return row;
}

row_counts expected_outputs(const std::vector<consumed_record>& input, std::size_t* invalid) {
  row_counts rows;
  for (const auto& r : input) {
    try {
      if (auto row = expected_output(r))
        ++rows[*row];
    } catch (const std::invalid_argument&) {
      if (invalid != nullptr)
        ++*invalid;
    }
  }
  return rows;
}

output_row parse_output(const consumed_record& output) {
  if (!output.value)
    throw std::invalid_argument("null output value at partition " + std::to_string(output.partition));
  const std::string& text = *output.value;
  const json::value v = parse_or_throw(text, "output value");
  if (!v.is_object())
    throw std::invalid_argument("output value is not an object: " + text);
  const auto& o = v.get_object();
  if (o.size() != 4)
    throw std::invalid_argument("output value does not have exactly 4 fields: " + text);
  output_row row;
  row.key = canonical_key(output);
  row.time_ltz = integer_of(field(o, "time_ltz", text), "time_ltz", text);
  row.hostname = string_of(field(o, "hostname", text), "hostname", text);
  row.cpu = string_of(field(o, "cpu", text), "cpu", text);
  row.usage = number_of(field(o, "usage", text), "usage", text);
  return row;
}

row_counts parse_outputs(const std::vector<consumed_record>& output) {
  row_counts rows;
  for (const auto& r : output)
    ++rows[parse_output(r)];
  return rows;
}

comparison compare(const row_counts& expected, const row_counts& actual) {
  comparison c;
  auto describe = [](const output_row& r) {
    return "key=" + r.key + " time_ltz=" + std::to_string(r.time_ltz) + " hostname=" + r.hostname + " cpu=" + r.cpu +
           " usage=" + json::serialize(json::value(r.usage));
  };
  for (const auto& [row, n] : expected) {
    const auto it = actual.find(row);
    const std::size_t got = it == actual.end() ? 0 : it->second;
    if (got < n) {
      c.missing += n - got;
      if (c.first_problem.empty())
        c.first_problem = "missing " + describe(row);
    } else {
      c.duplicates += got - n;
    }
  }
  for (const auto& [row, n] : actual) {
    if (!expected.contains(row)) {
      c.unexpected += n;
      if (c.first_problem.empty())
        c.first_problem = "unexpected " + describe(row);
    }
  }
  return c;
}

std::size_t total(const row_counts& rows) {
  std::size_t n = 0;
  for (const auto& [row, count] : rows)
    n += count;
  return n;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition())
      return true;
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(interval);
  }
}

std::string unique_name(const std::string& prefix) {
  static std::atomic<int> counter{0};
  static const auto salt = std::random_device{}() % 100000;
  return prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(salt) + "-" + std::to_string(++counter);
}

int tasks_from_log(const std::string& log) {
  static const std::regex pattern(R"(\(now (\d+) task\(s\)\)|\((\d+) task\(s\) left\))");
  int tasks = -1;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), pattern); it != std::sregex_iterator(); ++it)
    tasks = std::stoi((*it)[1].matched ? (*it)[1].str() : (*it)[2].str());
  return tasks;
}

std::vector<std::string> app_args(const std::string& bootstrap_servers, const std::string& application_id,
                                  const std::string& input_topic, const std::string& output_topic,
                                  const std::filesystem::path& state_dir) {
  return {"--bootstrap-servers",
          bootstrap_servers,
          "--application-id",
          application_id,
          "--input-topic",
          input_topic,
          "--output-topic",
          output_topic,
          "--state-dir",
          state_dir.string(),
          "--commit-interval-ms",
          "200",
          "--set",
          "kafka.session.timeout.ms=6000",
          "--set",
          "kafka.heartbeat.interval.ms=500",
          "--filter-only"}; // the first pipeline alone: one task per input partition
}

temp_dir::temp_dir() {
  std::string templ = (std::filesystem::temp_directory_path() / "sluice-cpu-anomaly-XXXXXX").string();
  if (mkdtemp(templ.data()) == nullptr)
    throw std::filesystem::filesystem_error("mkdtemp", templ, std::error_code(errno, std::generic_category()));
  path_ = templ;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

} // namespace sluice::test::cpu_anomaly
