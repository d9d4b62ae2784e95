// What every fuzz target shares: a failed property prints what broke and aborts, so libFuzzer
// records the input as a crash.
#pragma once

#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace sluice::fuzz {

/// Aborts with `what` (and `detail`, quoted) unless `ok`.
inline void check(bool ok, const char* what, std::string_view detail = {}) {
  if (ok)
    return;
  std::fprintf(stderr, "fuzz property violated: %s\n  '%.*s'\n", what, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

/// The input as text.
inline std::string_view text_of(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// Splits off and returns the text before the first `sep` (all of `text` if none).
inline std::string_view take(std::string_view& text, char sep) {
  const auto at = text.find(sep);
  const auto head = text.substr(0, at);
  text = at == std::string_view::npos ? std::string_view{} : text.substr(at + 1);
  return head;
}

/// True if `a` and `b` are the same double, bit for bit.
inline bool same_bits(double a, double b) { return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b); }

} // namespace sluice::fuzz
