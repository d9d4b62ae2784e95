// Parsing the small text formats of commit metadata and announcements. Internal.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

namespace sluice::detail {

/// The decimal int64 that fills `text` exactly, or nullopt.
inline std::optional<int64_t> parse_int(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size())
    return std::nullopt;
  return v;
}

/// Splits off and returns the text before the next `sep` (all of `text` if none).
inline std::string_view take(std::string_view& text, char sep) {
  auto at = text.find(sep);
  auto head = text.substr(0, at);
  text = at == std::string_view::npos ? std::string_view{} : text.substr(at + 1);
  return head;
}

} // namespace sluice::detail
