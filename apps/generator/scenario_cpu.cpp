// Scenario "cpu": the IoT CPU-load sensor of the anomaly-detection tutorial
// (Flink + Kafka + PostgreSQL + Slack). Value:
//   {"hostname": "dopey", "cpu": "cpu4", "usage": 98.3335306302198, "occurred_at": 1633956789277}
// key: {"hostname": "dopey"}; hostname one of seven, cpu1..cpu5, usage uniform in [70, 100).

#include "scenario.hpp"

#include <array>

namespace sluice::gen {

namespace {

constexpr std::array<std::string_view, 7> hostnames = {"doc",   "grumpy", "sleepy", "bashful",
                                                       "happy", "sneezy", "dopey"};
constexpr std::array<std::string_view, 5> cpus = {"cpu1", "cpu2", "cpu3", "cpu4", "cpu5"};

class cpu_scenario final : public scenario {
public:
  void next(random_engine& rng, std::int64_t occurred_at_ms, std::string& key, std::string& value) override {
    const auto hostname = hostnames[uniform_below(rng, hostnames.size())];
    const auto cpu = cpus[uniform_below(rng, cpus.size())];
    const double usage = uniform_real(rng, 70.0, 100.0);
    key.assign(R"({"hostname": ")").append(hostname).append(R"("})");
    value.assign(R"({"hostname": ")").append(hostname);
    value.append(R"(", "cpu": ")").append(cpu);
    value.append(R"(", "usage": )");
    append_double(value, usage);
    value.append(R"(, "occurred_at": )");
    append_int(value, occurred_at_ms);
    value.push_back('}');
  }
};

} // namespace

std::unique_ptr<scenario> make_cpu_scenario() { return std::make_unique<cpu_scenario>(); }

} // namespace sluice::gen
