// Message templates: the input's last line is a JSON record, everything before it the template.
// A template either parses or fails with template_error; one that parses renders any record that
// has its fields and names the first missing one otherwise; the text it renders, written back
// as a template (literal braces doubled), parses to the same template; a double field prints as
// text that reads back as the same double.
#include "fuzz_check.hpp"

#include <sluice/connectors/http/message_template.hpp>
#include <sluice/topology/serdes.hpp>

#include <charconv>
#include <cmath>

namespace json = boost::json;
using namespace sluice;
using sluice::fuzz::check;

namespace {

constexpr char field_open = '\x01', field_close = '\x02'; // brackets of a field in the marked rendering

// `rendered` (fields bracketed by field_open/field_close) as a template: literal braces doubled.
std::string as_template(std::string_view rendered) {
  std::string out;
  bool in_field = false;
  for (char c : rendered) {
    if (c == field_open || c == field_close) {
      in_field = c == field_open;
      out += in_field ? '{' : '}';
    } else if (!in_field && (c == '{' || c == '}')) {
      out += {c, c};
    } else {
      out += c;
    }
  }
  return out;
}

void check_value_format(const json::value& v) {
  if (!v.is_double() || !std::isfinite(v.get_double()))
    return;
  const auto text = format_value(v);
  double back = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), back);
  check(ec == std::errc{} && end == text.data() + text.size() && fuzz::same_bits(back, v.get_double()),
        "a double prints as text that reads back as itself", text);
}

/// True if `r` failed because a formatted placeholder ({f:.2f}, {t:iso}) got a value of the
/// wrong kind: by design, such a record does not render.
bool wrong_kind_for_a_format(const expected<std::string>& r) {
  return !r.has_value() && r.error().code == errc::template_error &&
         r.error().message.find("' needs ") != std::string::npos;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto input = fuzz::text_of(data, size);
  const auto newline = input.rfind('\n');
  const auto text = input.substr(0, newline);
  const auto record_text = newline == std::string_view::npos ? std::string_view{} : input.substr(newline + 1);

  auto parsed = message_template::parse(text);
  if (!parsed) {
    check(parsed.error().code == errc::template_error, "a bad template is a template_error", text);
    return 0;
  }
  const auto& tmpl = parsed.value();
  const auto fields = tmpl.fields();

  // Rendered with every field present (bracketed), and written back as a template.
  if (text.find_first_of("\x01\x02") == std::string_view::npos) {
    json::object marked;
    for (const auto& f : fields)
      marked[f] = std::string{field_open} + f + field_close;
    const auto rendered = tmpl.render(marked);
    check(rendered.has_value() || wrong_kind_for_a_format(rendered), "a record with every field renders", text);
    if (rendered.has_value()) { // else strings went to a number or time format
      const auto again = message_template::parse(as_template(rendered.value()));
      check(again.has_value(), "the rendered text, as a template, parses", as_template(rendered.value()));
      check(again.value().fields() == fields, "the rendered text, as a template, has the same fields", text);
      const auto twice = again.value().render(marked);
      check(twice.has_value() && twice.value() == rendered.value(),
            "the rendered text, as a template, renders the same", text);
    }
  }

  // Rendered with the record of the last line.
  json::value record;
  try {
    record = serdes::parse_json(record_text);
  } catch (const std::invalid_argument&) {
    return 0;
  }
  if (!record.is_object())
    return 0;
  const auto& object = record.get_object();
  for (const auto& [k, v] : object)
    check_value_format(v);
  const auto rendered = tmpl.render(object);
  std::string missing;
  for (const auto& f : fields)
    if (!object.contains(f)) {
      missing = f;
      break;
    }
  if (missing.empty())
    check(rendered.has_value() || wrong_kind_for_a_format(rendered), "a record with every field renders", input);
  else
    check(
      !rendered.has_value() && rendered.error().code == errc::template_error &&
        (rendered.error().message.find("'" + missing + "'") != std::string::npos || wrong_kind_for_a_format(rendered)),
      "a record without a field fails naming the first one missing", input);
  return 0;
}
