#include "connectors/http/message_template.hpp"

#include <boost/json/serialize.hpp>

#include <charconv>

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

connector_result<message_template> message_template::parse(std::string_view text) {
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
        return connector_error{connector_errc::template_error,
                               "message template: unclosed '{' at offset " + std::to_string(i)};
      auto name = text.substr(i + 1, close - i - 1);
      if (name.empty() || name.find('{') != std::string_view::npos)
        return connector_error{connector_errc::template_error,
                               "message template: empty or nested field name at offset "
                                 + std::to_string(i)};
      if (!literal.empty())
        out.parts_.push_back({false, std::move(literal)});
      literal.clear();
      out.parts_.push_back({true, std::string(name)});
      i = close;
    } else if (c == '}') {
      return connector_error{connector_errc::template_error,
                             "message template: stray '}' at offset " + std::to_string(i)
                               + " (write '}}' for a literal brace)"};
    } else {
      literal.push_back(c);
    }
  }
  if (!literal.empty())
    out.parts_.push_back({false, std::move(literal)});
  return out;
}

connector_result<std::string> message_template::render(const boost::json::object& record) const {
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
      return connector_error{connector_errc::template_error,
                             "message template: unknown field '" + p.text
                               + "' (record has: " + available + ")"};
    }
    out += format_value(it->value());
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

connector_result<std::string> render(std::string_view text, const boost::json::object& record) {
  auto tmpl = message_template::parse(text);
  if (!tmpl)
    return tmpl.error();
  return tmpl->render(record);
}

} // namespace sluice
