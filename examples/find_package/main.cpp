// A small topology (filter + map_values to a sink) run through the test driver: no broker needed.
// Exits 0 when the output is what the topology must write, 1 otherwise.
#include <sluice/sluice.hpp>
#include <sluice/topology/test_driver.hpp>

#include <iostream>
#include <string>
#include <vector>

namespace json = boost::json;

int main() {
  sluice::topology_builder b;
  b.stream<sluice::serdes::string, sluice::serdes::json>("cpu")
    .filter([](const std::string&, const json::value& v) { return v.at("usage").to_number<double>() > 80; })
    .map_values([](const json::value& v) {
      return json::value{{"u", v.at("usage")}};
    })
    .to("hot");

  sluice::topology_test_driver d{b.build()};
  d.pipe("cpu", "a", R"({"usage": 81})", 10);
  d.pipe("cpu", "b", R"({"usage": 80})", 11);
  d.pipe("cpu", "c", R"({"usage": 99.5})", 12);

  const std::vector<std::string> want_keys{"a", "c"};
  const std::vector<json::value> want_values{json::parse(R"({"u": 81})"), json::parse(R"({"u": 99.5})")};
  auto out = d.read_output("hot");
  bool ok = out.size() == want_keys.size();
  for (std::size_t i = 0; ok && i < out.size(); ++i)
    ok = out[i].key == want_keys[i] && json::parse(out[i].value) == want_values[i];
  if (!ok) {
    std::cerr << "find_package_example: unexpected output (" << out.size() << " records)\n";
    for (const auto& r : out)
      std::cerr << "  " << r.key << " -> " << r.value << " @" << r.timestamp << "\n";
    return 1;
  }
  std::cout << "find_package_example: ok (" << out.size() << " records)\n";
  return 0;
}
