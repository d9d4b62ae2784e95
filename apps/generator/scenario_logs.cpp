// Scenario "logs": the web-server log lines of the KSQL tutorial (mock_server_logs.py). Value:
//   {"date": "2023-11-14 22:13:20.100000", "url": "/api/orders", "status": "SUCCESS"}
// no key; date is the event time in UTC with microseconds. status is SUCCESS, HEALTHCHECK, WARNING
// or ERROR. Plain traffic never has more than 2 ERRORs in one event-time minute (extra ones are
// written as WARNING), so the tutorial's alert (>= 5 errors within 1 minute) fires only on
// injected bursts: with probability --error-burst-rate a record starts --error-burst-size
// consecutive ERRORs on one url (at least half of a burst of >= 10 lands in one minute).

#include "scenario.hpp"

#include <CLI/CLI.hpp>

#include <array>

namespace sluice::gen {

namespace {

constexpr std::array<std::string_view, 10> urls = {
  "/",          "/login",        "/logout",       "/api/orders", "/api/orders/checkout",
  "/api/users", "/api/products", "/api/payments", "/search",     "/health"};
constexpr std::size_t health_url = 9;

// Plain traffic: SUCCESS 70 %, HEALTHCHECK 15 %, WARNING 12 %, ERROR 3 % (capped per minute).
constexpr std::uint64_t success_weight = 70;
constexpr std::uint64_t healthcheck_weight = 15;
constexpr std::uint64_t warning_weight = 12;
constexpr std::uint64_t total_weight = 100;
constexpr int max_plain_errors_per_minute = 2;

class logs_scenario final : public scenario {
public:
  void add_options(CLI::App& command) override {
    command
      .add_option("--error-burst-rate", burst_rate_,
                  "probability that a log line starts a burst of ERRORs (the anomaly: >= 5 per minute); "
                  "0 = never")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
    command.add_option("--error-burst-size", burst_size_, "consecutive ERROR lines per burst")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  }

  void next(random_engine& rng, std::int64_t occurred_at_ms, std::string& key, std::string& value) override {
    key.clear();
    const std::int64_t minute = occurred_at_ms >= 0 ? occurred_at_ms / 60'000 : (occurred_at_ms - 59'999) / 60'000;
    if (minute != minute_) {
      minute_ = minute;
      plain_errors_ = 0;
    }
    if (burst_left_ == 0 && chance(rng, burst_rate_)) {
      burst_left_ = burst_size_;
      burst_url_ = uniform_below(rng, urls.size() - 1); // not /health
    }
    std::string_view status;
    std::size_t url;
    if (burst_left_ > 0) {
      --burst_left_;
      status = "ERROR";
      url = burst_url_;
    } else {
      const auto draw = uniform_below(rng, total_weight);
      if (draw < success_weight) {
        status = "SUCCESS";
        url = uniform_below(rng, urls.size() - 1);
      } else if (draw < success_weight + healthcheck_weight) {
        status = "HEALTHCHECK";
        url = health_url;
      } else {
        url = uniform_below(rng, urls.size() - 1);
        status =
          draw < success_weight + healthcheck_weight + warning_weight || plain_errors_ >= max_plain_errors_per_minute
            ? "WARNING"
            : "ERROR";
        if (status == "ERROR")
          ++plain_errors_;
      }
    }
    value.assign(R"({"date": ")");
    append_utc_datetime(value, occurred_at_ms);
    value.append(R"(", "url": ")").append(urls[url]);
    value.append(R"(", "status": ")").append(status).append(R"("})");
  }

private:
  double burst_rate_ = 0.002;
  std::uint64_t burst_size_ = 10;

  std::int64_t minute_ = INT64_MIN;
  int plain_errors_ = 0;
  std::uint64_t burst_left_ = 0;
  std::size_t burst_url_ = 0;
};

} // namespace

std::unique_ptr<scenario> make_logs_scenario() { return std::make_unique<logs_scenario>(); }

} // namespace sluice::gen
