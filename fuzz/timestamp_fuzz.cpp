// Timestamp extractors: a date-time string that parses names a real instant whose fields (after
// its offset) are the ones written; epoch ms, ns and seconds fields give the instant the number
// names (floored or rounded as documented), or none when it is out of range, never undefined
// behaviour.
#include "fuzz_check.hpp"

#include <sluice/topology/serdes.hpp>
#include <sluice/topology/timestamp_extractor.hpp>

#include <cmath>
#include <cstdio>
#include <limits>

namespace json = boost::json;
using namespace sluice;
using sluice::fuzz::check;

namespace {

// The UTC fields of epoch ms `ms` as "YYYY-MM-DDTHH:MM:SS.mmmZ" (Howard Hinnant's civil_from_days).
std::string format_utc(int64_t ms) {
  const int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  const int64_t milli = ms - secs * 1000;
  const int64_t days_raw = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  const int64_t sod = secs - days_raw * 86400;
  const int64_t z = days_raw + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ", static_cast<long long>(y), m, d,
                static_cast<long long>(sod / 3600), static_cast<long long>(sod / 60 % 60),
                static_cast<long long>(sod % 60), static_cast<long long>(milli));
  return buf;
}

// A date-time that parsed: its instant printed in UTC and read again is the same instant; and
// without an offset, the printed fields are the ones in the input (a leap second 60 rolls over
// into the next minute, so it is left out).
void check_datetime(std::string_view text) {
  const auto ms = parse_datetime_ms(text);
  if (!ms)
    return;
  const auto utc = format_utc(*ms);
  if (utc.size() == 24) // years 0000-9999 only: the format has four digits
    check(parse_datetime_ms(utc) == ms, "a parsed date-time printed in UTC reads back the same", utc);
  const bool offset = text.size() > 19 && text.substr(19).find_first_of("+-") != std::string_view::npos;
  if (!offset && text.substr(17, 2) != "60")
    check(utc.substr(0, 10) == text.substr(0, 10) && utc.substr(11, 8) == text.substr(11, 8),
          "a parsed date-time names the date and time it was written with", std::string{text} + " -> " + utc);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto in = fuzz::text_of(data, size);
  check_datetime(in);

  // The input as the JSON value of the timestamp field.
  json::value field;
  try {
    field = serdes::parse_json(in);
  } catch (const std::invalid_argument&) {
    field = json::string(in); // not JSON: the text as a string field
  }
  const json::value record{{"t", field}};
  const record_meta meta{};
  const auto ms = timestamps::json_field_ms("t")(record, meta);
  const auto ns = timestamps::json_field_ns("t")(record, meta);
  const auto seconds = timestamps::json_field_seconds("t")(record, meta);
  const auto datetime = timestamps::json_field_datetime("t")(record, meta);

  // The same record kept as text gives the same instants (where it is JSON).
  std::string text;
  serdes::write_json(record, text);
  try {
    const json_text kept{text};
    check(timestamps::json_field_ms<json_text>("t")(kept, meta) == ms, "json_text: epoch ms as on json::value", text);
    check(timestamps::json_field_ns<json_text>("t")(kept, meta) == ns, "json_text: epoch ns as on json::value", text);
    check(timestamps::json_field_seconds<json_text>("t")(kept, meta) == seconds, "json_text: seconds as on json::value",
          text);
    check(timestamps::json_field_datetime<json_text>("t")(kept, meta) == datetime,
          "json_text: a date-time as on json::value", text);
  } catch (const std::invalid_argument&) { // e.g. a string that is no UTF-8: serdes::json refuses it too
    bool refused = false;
    try {
      serdes::json{}.deserialize(text);
    } catch (const std::invalid_argument&) {
      refused = true;
    }
    check(refused, "json_text refuses only what serdes::json refuses", text);
  }

  if (field.is_string()) {
    check(!ms && !ns && !seconds, "a string is no number of ms, ns or seconds", in);
    check(datetime == parse_datetime_ms(std::string_view{field.get_string()}), "a date-time field reads as the text",
          in);
    return 0;
  }
  check(!datetime, "only a string is a date-time", in);
  if (!field.is_number()) {
    check(!ms && !ns && !seconds, "only a number is a timestamp", in);
    return 0;
  }
  const long double x = field.is_int64()    ? static_cast<long double>(field.get_int64())
                        : field.is_uint64() ? static_cast<long double>(field.get_uint64())
                                            : static_cast<long double>(field.get_double());
  if (ms)
    check(*ms <= x && x < *ms + 1.0L, "epoch ms: the instant is the number, floored", in);
  // Products beyond 2^64 are rounded in long double: allow for that (far below a millisecond
  // up to 1e21 ns, and the double itself is that coarse beyond).
  const long double slack = std::fabs(x) * 1e-17L;
  if (ns)
    check(*ns * 1e6L <= x + slack && x < (*ns + 1) * 1e6L + slack, "epoch ns: the instant is the number / 1e6, floored",
          in);
  if (seconds)
    check(std::fabs(static_cast<long double>(*seconds) - x * 1000) <= 0.5L + 1e-9L * std::fabs(x * 1000),
          "epoch seconds: the instant is the number * 1000, rounded", in);
  // In range, each extractor gives an instant.
  constexpr long double limit = 9e18L;
  if (std::fabs(x) < limit)
    check(ms.has_value(), "epoch ms in range gives an instant", in);
  if (std::fabs(x) < limit * 1e6L)
    check(ns.has_value() || std::fabs(x) >= limit * 1e6L, "epoch ns in range gives an instant", in);
  if (std::fabs(x) * 1000 < limit)
    check(seconds.has_value(), "epoch seconds in range gives an instant", in);
  return 0;
}
