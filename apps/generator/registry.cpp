// The list of sluice-gen scenarios. Add one line per scenario (and its scenario_<name>.cpp).

#include "scenario.hpp"

#include <charconv>

namespace sluice::gen {

std::unique_ptr<scenario> make_cpu_scenario();

const std::vector<scenario_info>& scenarios() {
  static const std::vector<scenario_info> all = {
      {"cpu", "IoT CPU-load readings of seven hosts (usage in [70, 100))", "cpu_load_stats_real",
       &make_cpu_scenario},
  };
  return all;
}

void append_double(std::string& out, double value) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  (void)ec; // 32 characters always suffice for a double
  const std::string_view text(buffer, static_cast<std::size_t>(end - buffer));
  out.append(text);
  if (text.find_first_of(".eni") == std::string_view::npos)
    out.append(".0");
}

void append_int(std::string& out, std::int64_t value) {
  char buffer[24];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  (void)ec; // 24 characters always suffice for an int64
  out.append(buffer, static_cast<std::size_t>(end - buffer));
}

} // namespace sluice::gen
