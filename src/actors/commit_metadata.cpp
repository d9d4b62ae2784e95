#include "actors/commit_metadata.hpp"

#include <stdexcept>
#include <string_view>

namespace sluice {

namespace {

constexpr std::string_view metadata_version = "sluice1";

} // namespace

std::string encode_metadata(const std::string& input_state, const std::map<std::string, int64_t>& changelogs) {
  std::string out{metadata_version};
  out += '\n';
  out += input_state;
  for (const auto& [store, offset] : changelogs)
    out += '\n' + store + '=' + std::to_string(offset);
  return out;
}

committed_state decode_metadata(const committed_metadata& committed) {
  committed_state out;
  for (const auto& [tp, text] : committed) {
    std::string_view rest{text};
    auto line = [&] {
      auto at = rest.find('\n');
      auto l = rest.substr(0, at);
      rest = at == std::string_view::npos ? std::string_view{} : rest.substr(at + 1);
      return l;
    };
    if (line() != metadata_version)
      continue; // none, or not ours
    out.inputs[tp] = std::string{line()};
    std::map<std::string, int64_t> changelogs;
    while (!rest.empty()) {
      auto l = line();
      auto eq = l.rfind('=');
      if (eq == std::string_view::npos)
        continue;
      try {
        changelogs[std::string{l.substr(0, eq)}] = std::stoll(std::string{l.substr(eq + 1)});
      } catch (const std::exception&) {
      }
    }
    out.changelogs = std::move(changelogs);
  }
  return out;
}

} // namespace sluice
