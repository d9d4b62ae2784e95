#pragma once
// Message templates for alert text: "host:{hostname} CPU: {cpu} avg CPU value:{usage_avg:.2f}".
// `{name}` is replaced by the record's field `name`; `{{` and `}}` are literal braces.
// Values: strings as-is, integers in decimal, doubles in shortest round-trip form
// (85.5 → "85.5", 20.0 → "20.0" like Flink's CAST(DOUBLE AS STRING)), booleans as true/false,
// null as "null", objects and arrays as compact JSON.
// `{name:spec}` formats a field for people (docs/dsl.md, "Message templates"):
//   `.Nf`    a number with N decimals (0 ≤ N ≤ 17), rounded as printf does: {usage:.2f} → 81.70
//   `iso`    epoch milliseconds as a UTC time to the second: {ts:iso} → 2026-12-03T08:41:05Z
//   `iso_ms` the same with milliseconds: {ts:iso_ms} → 2026-12-03T08:41:05.123Z
// An unknown spec fails to parse; a field of the wrong kind for its spec (a string for `.2f`, a
// time outside the years 0000-9999) fails to render, as a missing field does.

#include <sluice/error.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

/// A parsed message template; parse once, render per record.
class message_template {
public:
  /// Parses `text`; fails with template_error on an unclosed '{', a stray '}', an empty {} or
  /// an unknown format spec.
  static expected<message_template> parse(std::string_view text);

  /// Substitutes the record's fields; fails with template_error naming the first field the
  /// record lacks (and listing the fields it has) or the first that its spec cannot format.
  expected<std::string> render(const boost::json::object& record) const;

  /// The field names the template refers to, in order of appearance.
  std::vector<std::string> fields() const;

private:
  enum class format { plain, fixed, iso, iso_ms };
  struct part {
    bool is_field;
    std::string text;           // literal text or field name
    format fmt = format::plain; // fields: how the value is printed
    int decimals = 0;           // format::fixed: digits after the point
    std::string spec = {};      // the spec as written, for error messages
  };
  static expected<std::string> format_field(const part& p, const boost::json::value& value);
  std::vector<part> parts_;
};

/// Parses `text` and renders it with `record` in one call.
expected<std::string> render(std::string_view text, const boost::json::object& record);

/// A JSON value as text the way templates print it (see the header comment).
std::string format_value(const boost::json::value& value);

/// `value` with exactly `decimals` digits after the point (0-17), rounded as printf's %.Nf.
std::string format_fixed(double value, int decimals);

/// Epoch milliseconds `ms` as UTC ISO-8601 ("2026-12-03T08:41:05Z", with ".123" before the Z if
/// `with_ms`); empty if the time is outside the years 0000-9999.
std::string format_iso_utc(std::int64_t ms, bool with_ms);

} // namespace sluice
