#include <sluice/connectors/http/message_template.hpp>

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>

namespace sluice {

std::string format_value(const boost::json::value& value) {
  switch (value.kind()) {
  case boost::json::kind::string:
    return std::string(value.get_string());
  case boost::json::kind::int64:
    return std::to_string(value.get_int64());
  case boost::json::kind::uint64:
    return std::to_string(value.get_uint64());
  case boost::json::kind::double_: {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value.get_double());
    std::string out(buf, ec == std::errc{} ? end : buf);
    if (out.find_first_of(".eEn") == std::string::npos) // integral: "20" → "20.0"
      out += ".0";
    return out;
  }
  case boost::json::kind::bool_:
    return value.get_bool() ? "true" : "false";
  case boost::json::kind::null:
    return "null";
  default:
    return boost::json::serialize(value);
  }
}

std::string format_fixed(double value, int decimals) {
  char buf[400]; // the largest double has 309 integral digits
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::fixed, decimals);
  return std::string(buf, ec == std::errc{} ? end : buf);
}

std::string format_iso_utc(std::int64_t ms, bool with_ms) {
  constexpr std::int64_t first_ms = -62'167'219'200'000; // 0000-01-01T00:00:00Z
  constexpr std::int64_t last_ms = 253'402'300'799'999;  // 9999-12-31T23:59:59.999Z
  if (ms < first_ms || ms > last_ms)
    return {};
  using namespace std::chrono;
  const sys_time<milliseconds> t{milliseconds{ms}};
  const auto day = floor<days>(t);
  const year_month_day date{day};
  const hh_mm_ss time{t - day};
  char buf[40];
  int n = std::snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(date.year()),
                        static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                        static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                        static_cast<int>(time.seconds().count()));
  if (with_ms)
    n += std::snprintf(buf + n, sizeof(buf) - static_cast<std::size_t>(n), ".%03d",
                       static_cast<int>(time.subseconds().count()));
  return std::string(buf, static_cast<std::size_t>(n)) + "Z";
}

namespace {

// The JSON kind of `value` in words, for error messages.
std::string kind_name(const boost::json::value& value) {
  switch (value.kind()) {
  case boost::json::kind::string:
    return "a string";
  case boost::json::kind::bool_:
    return "a boolean";
  case boost::json::kind::null:
    return "null";
  case boost::json::kind::object:
    return "an object";
  case boost::json::kind::array:
    return "an array";
  default:
    return "a number";
  }
}

} // namespace

expected<std::string> message_template::format_field(const part& p, const boost::json::value& value) {
  auto mismatch = [&](const std::string& what) {
    return error{errc::template_error, "message template: field '" + p.text + "' is " + what + " (" +
                                         format_value(value) + "); '{" + p.text + ":" + p.spec + "}' needs " +
                                         (p.fmt == format::fixed ? "a number" : "epoch milliseconds")};
  };
  switch (p.fmt) {
  case format::plain:
    return format_value(value);
  case format::fixed:
    if (value.is_int64() || value.is_uint64()) // exact, however large
      return format_value(value) + (p.decimals > 0 ? "." + std::string(static_cast<std::size_t>(p.decimals), '0') : "");
    if (value.is_double())
      return format_fixed(value.get_double(), p.decimals);
    return mismatch(kind_name(value));
  case format::iso:
  case format::iso_ms: {
    if (!value.is_number())
      return mismatch(kind_name(value));
    // A number too large for int64 milliseconds is as far outside the supported years as the maximum.
    constexpr auto far = std::numeric_limits<std::int64_t>::max();
    const std::int64_t ms =
      value.is_int64()    ? value.get_int64()
      : value.is_uint64() ? static_cast<std::int64_t>(std::min<std::uint64_t>(value.get_uint64(), far))
      : std::abs(value.get_double()) < 1e18 ? static_cast<std::int64_t>(std::floor(value.get_double()))
                                            : far;
    auto text = format_iso_utc(ms, p.fmt == format::iso_ms);
    if (text.empty())
      return mismatch("outside the years 0000-9999");
    return text;
  }
  }
  return format_value(value);
}

expected<message_template> message_template::parse(std::string_view text) {
  message_template out;
  std::string literal;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
      literal.push_back('{');
      ++i;
    } else if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
      literal.push_back('}');
      ++i;
    } else if (c == '{') {
      auto close = text.find('}', i + 1);
      if (close == std::string_view::npos)
        return error{errc::template_error, "message template: unclosed '{' at offset " + std::to_string(i)};
      auto field = text.substr(i + 1, close - i - 1);
      auto colon = field.find(':');
      auto name = field.substr(0, colon);
      if (name.empty() || field.find('{') != std::string_view::npos)
        return error{errc::template_error,
                     "message template: empty or nested field name at offset " + std::to_string(i)};
      part p{true, std::string(name)};
      if (colon != std::string_view::npos) {
        p.spec = std::string(field.substr(colon + 1));
        if (p.spec == "iso") {
          p.fmt = format::iso;
        } else if (p.spec == "iso_ms") {
          p.fmt = format::iso_ms;
        } else if (p.spec.size() >= 3 && p.spec.size() <= 4 && p.spec.front() == '.' && p.spec.back() == 'f' &&
                   std::all_of(p.spec.begin() + 1, p.spec.end() - 1, [](char d) { return d >= '0' && d <= '9'; }) &&
                   std::stoi(p.spec.substr(1)) <= 17) {
          p.fmt = format::fixed;
          p.decimals = std::stoi(p.spec.substr(1));
        } else {
          return error{errc::template_error, "message template: unknown format '" + p.spec + "' for field '" + p.text +
                                               "' at offset " + std::to_string(i) +
                                               " (known: .Nf with N 0-17, iso, iso_ms)"};
        }
      }
      if (!literal.empty())
        out.parts_.push_back({false, std::move(literal)});
      literal.clear();
      out.parts_.push_back(std::move(p));
      i = close;
    } else if (c == '}') {
      return error{errc::template_error,
                   "message template: stray '}' at offset " + std::to_string(i) + " (write '}}' for a literal brace)"};
    } else {
      literal.push_back(c);
    }
  }
  if (!literal.empty())
    out.parts_.push_back({false, std::move(literal)});
  return out;
}

expected<std::string> message_template::render(const boost::json::object& record) const {
  std::string out;
  for (const auto& p : parts_) {
    if (!p.is_field) {
      out += p.text;
      continue;
    }
    auto it = record.find(p.text);
    if (it == record.end()) {
      std::string available;
      for (const auto& kv : record)
        available += (available.empty() ? "" : ", ") + std::string(kv.key());
      return error{errc::template_error,
                   "message template: unknown field '" + p.text + "' (record has: " + available + ")"};
    }
    auto text = format_field(p, it->value());
    if (!text)
      return text.error();
    out += *text;
  }
  return out;
}

std::vector<std::string> message_template::fields() const {
  std::vector<std::string> out;
  for (const auto& p : parts_)
    if (p.is_field)
      out.push_back(p.text);
  return out;
}

expected<std::string> render(std::string_view text, const boost::json::object& record) {
  auto tmpl = message_template::parse(text);
  if (!tmpl)
    return tmpl.error();
  return tmpl->render(record);
}

} // namespace sluice
