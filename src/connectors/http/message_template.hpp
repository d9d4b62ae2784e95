#pragma once
// Message templates for alert text: "host:{hostname} CPU: {cpu} avg CPU value:{usage_avg}".
// `{name}` is replaced by the record's field `name`; `{{` and `}}` are literal braces.
// Values: strings as-is, integers in decimal, doubles in shortest round-trip form
// (85.5 → "85.5", 20.0 → "20.0" like Flink's CAST(DOUBLE AS STRING)), booleans as true/false,
// null as "null", objects and arrays as compact JSON.

#include "connectors/error.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace sluice {

/// A parsed message template; parse once, render per record.
class message_template {
public:
  /// Parses `text`; fails with template_error on an unclosed '{', a stray '}' or an empty {}.
  static connector_result<message_template> parse(std::string_view text);

  /// Substitutes the record's fields; fails with template_error naming the first field the
  /// record lacks (and listing the fields it has).
  connector_result<std::string> render(const boost::json::object& record) const;

  /// The field names the template refers to, in order of appearance.
  std::vector<std::string> fields() const;

private:
  struct part {
    bool is_field;
    std::string text; // literal text or field name
  };
  std::vector<part> parts_;
};

/// Parses `text` and renders it with `record` in one call.
connector_result<std::string> render(std::string_view text, const boost::json::object& record);

/// A JSON value as text the way templates print it (see the header comment).
std::string format_value(const boost::json::value& value);

} // namespace sluice
