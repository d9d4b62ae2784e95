#include "output_rows.hpp"

#include "offset_probe.hpp"
#include "test_helpers.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <thread>

namespace sluice::test {

namespace json = boost::json;

actual_rows rows_of(const std::vector<consumed_record>& records,
                    const std::function<std::string(const consumed_record&, const json::value&)>& identity) {
  actual_rows rows;
  for (const auto& r : records) {
    if (!r.value)
      throw std::invalid_argument("null value at partition " + std::to_string(r.partition) + " offset " +
                                  std::to_string(r.offset));
    json::error_code ec;
    auto value = json::parse(*r.value, ec);
    if (ec)
      throw std::invalid_argument("value is not JSON: " + *r.value);
    auto id = identity(r, value);
    rows[std::move(id)].push_back(std::move(value));
  }
  return rows;
}

bool same_json(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_int64() && b.is_int64())
      return a.get_int64() == b.get_int64();
    const double x = a.to_number<double>(), y = b.to_number<double>();
    return std::fabs(x - y) <= 1e-12 * std::max(std::fabs(x), std::fabs(y));
  }
  if (a.kind() != b.kind())
    return false;
  if (a.is_object()) {
    const auto &x = a.get_object(), &y = b.get_object();
    if (x.size() != y.size())
      return false;
    for (const auto& [k, v] : x) {
      const auto* w = y.if_contains(k);
      if (w == nullptr || !same_json(v, *w))
        return false;
    }
    return true;
  }
  if (a.is_array()) {
    const auto &x = a.get_array(), &y = b.get_array();
    if (x.size() != y.size())
      return false;
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!same_json(x[i], y[i]))
        return false;
    return true;
  }
  return a == b;
}

std::string row_check::summary() const {
  auto s = std::to_string(expected) + " expected: " + std::to_string(missing) + " missing, " +
           std::to_string(unexpected) + " unexpected, " + std::to_string(wrong) + " wrong, " +
           std::to_string(duplicates) + " repeated";
  if (!first_problem.empty())
    s += "; first problem: " + first_problem;
  return s;
}

row_check check_rows(const expected_rows& expected, const actual_rows& actual) {
  row_check c;
  auto note = [&c](std::string problem) {
    if (c.first_problem.empty())
      c.first_problem = std::move(problem);
  };
  for (const auto& [id, e] : expected) {
    c.expected += e.times;
    std::size_t right = 0;
    if (const auto it = actual.find(id); it != actual.end()) {
      for (const auto& v : it->second) {
        if (same_json(v, e.value)) {
          ++right;
        } else {
          ++c.wrong;
          note(id + ": got " + json::serialize(v) + ", expected " + json::serialize(e.value));
        }
      }
    }
    if (right < e.times) {
      c.missing += e.times - right;
      note(id + " missing (" + std::to_string(right) + " of " + std::to_string(e.times) +
           "): " + json::serialize(e.value));
    } else {
      c.duplicates += right - e.times;
    }
  }
  for (const auto& [id, values] : actual)
    if (!expected.contains(id)) {
      c.unexpected += values.size();
      note(id + " unexpected: " + json::serialize(values.front()));
    }
  return c;
}

topic_records settle_outputs(const kafka_test_client& client, const std::map<std::string, std::size_t>& topics,
                             const std::function<bool(const topic_records&)>& complete, app_instances& app,
                             const std::vector<std::string>& inputs, std::chrono::milliseconds timeout) {
  offset_probe probe(client.bootstrap_servers());
  auto read_back = [&] {
    topic_records out;
    for (const auto& [topic, n] : topics)
      out[topic] = read_all(client, topic);
    return out;
  };
  wait_until(
    [&] {
      if (!app.all_running())
        return true;
      for (const auto& [topic, n] : topics)
        if (probe.end_offset_sum(topic) < static_cast<std::int64_t>(n))
          return false;
      return complete(read_back());
    },
    timeout, std::chrono::milliseconds{500});
  if (!wait_until([&] { return !app.all_running() || probe.consumed_to_end(app.application_id(), inputs); }, timeout,
                  std::chrono::milliseconds{200}))
    std::fprintf(stderr, "settle_outputs: group %s did not commit its inputs to their end within %lld ms\n",
                 app.application_id().c_str(), static_cast<long long>(timeout.count()));
  return read_back();
}

} // namespace sluice::test
