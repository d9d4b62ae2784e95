#include <sluice/topology/timestamp_extractor.hpp>

#include <sluice/topology/serdes.hpp>

#include "topology/json_scalar.hpp"

#include <cmath>
#include <type_traits>

namespace sluice {

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// Reads exactly `n` digits at `pos`.
bool digits(std::string_view s, size_t& pos, size_t n, int& out) {
  if (pos + n > s.size())
    return false;
  out = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9')
      return false;
    out = out * 10 + (c - '0');
  }
  pos += n;
  return true;
}

bool expect(std::string_view s, size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c)
    return false;
  ++pos;
  return true;
}

// Days in month `m` of year `y` (proleptic Gregorian).
int days_in_month(int y, int m) {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : days[m - 1];
}

// `x` as an int64 (already integral), or nullopt if it is not finite or out of range.
std::optional<int64_t> to_int64(long double x) {
  constexpr long double limit = 9223372036854775808.0L; // 2^63
  if (!(x >= -limit && x < limit))
    return std::nullopt;
  return static_cast<int64_t>(x);
}

const boost::json::value* field_of(const boost::json::value& v, const std::string& field) {
  const auto* o = v.if_object();
  return o ? o->if_contains(field) : nullptr;
}

} // namespace

std::optional<int64_t> parse_datetime_ms(std::string_view s) {
  size_t pos = 0;
  int y, mo, d, h, mi, sec;
  if (!digits(s, pos, 4, y) || !expect(s, pos, '-') || !digits(s, pos, 2, mo) || !expect(s, pos, '-') ||
      !digits(s, pos, 2, d))
    return std::nullopt;
  if (pos >= s.size() || (s[pos] != ' ' && s[pos] != 'T' && s[pos] != 't'))
    return std::nullopt;
  ++pos;
  if (!digits(s, pos, 2, h) || !expect(s, pos, ':') || !digits(s, pos, 2, mi) || !expect(s, pos, ':') ||
      !digits(s, pos, 2, sec))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60)
    return std::nullopt;
  int64_t ms = 0;
  if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
    ++pos;
    size_t n = 0;
    for (; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos, ++n)
      if (n < 3)
        ms = ms * 10 + (s[pos] - '0');
    if (n == 0)
      return std::nullopt;
    for (; n < 3; ++n)
      ms *= 10;
  }
  int64_t offset_min = 0;
  if (pos < s.size()) {
    if (s[pos] == 'Z' || s[pos] == 'z') {
      ++pos;
    } else if (s[pos] == '+' || s[pos] == '-') {
      const int sign = s[pos] == '-' ? -1 : 1;
      ++pos;
      int oh, om = 0;
      if (!digits(s, pos, 2, oh))
        return std::nullopt;
      if (pos < s.size()) {
        expect(s, pos, ':');
        if (!digits(s, pos, 2, om))
          return std::nullopt;
      }
      offset_min = sign * (oh * 60 + om);
    }
  }
  if (pos != s.size())
    return std::nullopt;
  const int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  const int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_min * 60;
  return secs * 1000 + ms;
}

namespace {

// How each extractor reads its field (nullptr when absent or the value is no object).

std::optional<int64_t> epoch_ms(const boost::json::value* f) {
  if (!f)
    return std::nullopt;
  if (f->is_int64())
    return f->get_int64();
  if (f->is_uint64())
    return f->get_uint64() <= INT64_MAX ? std::optional{static_cast<int64_t>(f->get_uint64())} : std::nullopt;
  if (f->is_double())
    return to_int64(std::floor(f->get_double()));
  return std::nullopt;
}

std::optional<int64_t> epoch_ns(const boost::json::value* f) {
  if (!f)
    return std::nullopt;
  auto floor_div = [](int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); };
  if (f->is_int64())
    return floor_div(f->get_int64(), 1'000'000);
  if (f->is_uint64())
    return static_cast<int64_t>(f->get_uint64() / 1'000'000);
  if (f->is_double()) {
    // In long double, which holds every int64: a double quotient is coarser than 1 ms beyond
    // 2^53 ms, and its rounding crosses whole milliseconds there.
    return to_int64(std::floor(static_cast<long double>(f->get_double()) / 1e6L));
  }
  return std::nullopt;
}

std::optional<int64_t> epoch_seconds(const boost::json::value* f) {
  if (!f || !f->is_number())
    return std::nullopt;
  return to_int64(std::round(f->to_number<double>() * 1000.0));
}

std::optional<int64_t> datetime(const boost::json::value* f) {
  if (!f || !f->is_string())
    return std::nullopt;
  const auto& s = f->get_string();
  return parse_datetime_ms(std::string_view{s.data(), s.size()});
}

/// The extractor that reads field `field` of a V with `read`: a json::value's member, or a
/// json_text's field on its own (a number without allocating).
template <class V>
timestamp_extractor<V> field_extractor(std::string field, std::optional<int64_t> (*read)(const boost::json::value*)) {
  return [field = std::move(field), read](const V& v, const record_meta&) -> std::optional<int64_t> {
    if constexpr (std::is_same_v<V, json_text>) {
      std::optional<std::string_view> text;
      try {
        text = v.find(field);
      } catch (const std::invalid_argument&) { // no object
        return std::nullopt;
      }
      if (!text)
        return std::nullopt;
      const auto value = detail::parse_json_scalar(*text);
      return read(&value);
    } else {
      return read(field_of(v, field));
    }
  };
}

} // namespace

namespace timestamps {

template <class V>
timestamp_extractor<V> json_field_ms(std::string field) {
  return field_extractor<V>(std::move(field), epoch_ms);
}

template <class V>
timestamp_extractor<V> json_field_ns(std::string field) {
  return field_extractor<V>(std::move(field), epoch_ns);
}

template <class V>
timestamp_extractor<V> json_field_seconds(std::string field) {
  return field_extractor<V>(std::move(field), epoch_seconds);
}

template <class V>
timestamp_extractor<V> json_field_datetime(std::string field) {
  return field_extractor<V>(std::move(field), datetime);
}

template timestamp_extractor<boost::json::value> json_field_ms(std::string);
template timestamp_extractor<boost::json::value> json_field_ns(std::string);
template timestamp_extractor<boost::json::value> json_field_seconds(std::string);
template timestamp_extractor<boost::json::value> json_field_datetime(std::string);
template timestamp_extractor<json_text> json_field_ms(std::string);
template timestamp_extractor<json_text> json_field_ns(std::string);
template timestamp_extractor<json_text> json_field_seconds(std::string);
template timestamp_extractor<json_text> json_field_datetime(std::string);

} // namespace timestamps
} // namespace sluice
