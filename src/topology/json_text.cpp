#include <sluice/topology/json_text.hpp>

#include <sluice/topology/serdes.hpp>

#include "topology/json_scalar.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <stdexcept>

namespace sluice {

namespace {

using simdjson::SIMDJSON_PADDING;
namespace od = simdjson::ondemand;

/// `null`, followed by the padding simdjson reads.
constexpr char null_padded[4 + SIMDJSON_PADDING] = "null";
constexpr std::string_view null_text{null_padded, 4};

/// `storage` if it frees its memory itself once unreferenced, else a block of its own of `bytes`.
boost::json::storage_ptr counted(boost::json::storage_ptr storage, std::size_t bytes) {
  if (storage.is_shared())
    return storage;
  return boost::json::make_shared_resource<boost::json::monotonic_resource>(bytes);
}

/// Room for `size` bytes of text and simdjson's padding after them (zeroed), from `storage`.
char* allocate_padded(const boost::json::storage_ptr& storage, std::size_t size) {
  auto* p = static_cast<char*>(storage->allocate(size + SIMDJSON_PADDING, 1));
  std::memset(p + size, 0, SIMDJSON_PADDING);
  return p;
}

[[noreturn]] void malformed(simdjson::error_code e) {
  throw std::invalid_argument(std::string{"malformed JSON: "} + simdjson::error_message(e));
}

/// The JSON text of `v` as written, without the whitespace after it.
std::string_view raw_of(od::value v) {
  od::json_type type;
  if (auto e = v.type().get(type))
    malformed(e);
  std::string_view text;
  simdjson::error_code e = simdjson::SUCCESS;
  if (type == od::json_type::object) {
    od::object o;
    e = v.get_object().get(o);
    if (!e)
      e = o.raw_json().get(text);
  } else if (type == od::json_type::array) {
    od::array a;
    e = v.get_array().get(a);
    if (!e)
      e = a.raw_json().get(text);
  } else {
    text = v.raw_json_token();
  }
  if (e)
    malformed(e);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\n' || text.back() == '\t' || text.back() == '\r'))
    text.remove_suffix(1);
  return text;
}

/// Calls `f` with the top-level object of `text` (padded); throws std::invalid_argument if it is none.
template <class F>
decltype(auto) with_object(std::string_view text, F&& f) {
  thread_local od::parser parser;
  od::document doc;
  if (auto e =
        parser.iterate(simdjson::padded_string_view(text.data(), text.size(), text.size() + SIMDJSON_PADDING)).get(doc))
    malformed(e);
  od::object object;
  if (auto e = doc.get_object().get(object))
    throw std::invalid_argument(e == simdjson::INCORRECT_TYPE
                                  ? "not a JSON object: " + std::string{text.substr(0, 40)}
                                  : std::string{"malformed JSON: "} + simdjson::error_message(e));
  return f(object);
}

/// Appends `s` as a JSON string.
void append_quoted(std::string_view s, char*& out) {
  *out++ = '"';
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      *out++ = '\\';
      *out++ = c;
    } else if (u < 0x20) {
      static constexpr char hex[] = "0123456789abcdef";
      std::memcpy(out, "\\u00", 4);
      out[4] = hex[u >> 4];
      out[5] = hex[u & 15];
      out += 6;
    } else {
      *out++ = c;
    }
  }
  *out++ = '"';
}

} // namespace

json_text::json_text() : text_(null_text) {}

json_text::json_text(checked, std::string_view text, boost::json::storage_ptr storage)
    : storage_(std::move(storage)), text_(text) {}

json_text::json_text(std::string_view text, boost::json::storage_ptr storage) {
  if (text.empty()) {
    text_ = null_text;
    return;
  }
  storage_ = counted(std::move(storage), text.size() + SIMDJSON_PADDING);
  char* p = allocate_padded(storage_, text.size());
  std::memcpy(p, text.data(), text.size());
  text_ = {p, text.size()};
  thread_local simdjson::dom::parser validator;
  simdjson::dom::element root;
  if (auto e = validator.parse(p, text.size(), false).get(root)) {
    if (e != simdjson::NUMBER_ERROR)
      malformed(e);
    serdes::parse_json(text); // integers beyond 64 bits are doubles, as serdes::json reads them; throws if malformed
  }
}

json_text json_text::object(std::initializer_list<std::pair<std::string_view, std::string_view>> fields,
                            boost::json::storage_ptr storage) {
  std::size_t size = 2;
  for (const auto& [name, value] : fields)
    size += name.size() * 6 + 4 + value.size(); // at worst every name byte escaped as \u00XX
  storage = counted(std::move(storage), size + SIMDJSON_PADDING);
  char* begin = allocate_padded(storage, size);
  char* out = begin;
  *out++ = '{';
  bool first = true;
  for (const auto& [name, value] : fields) {
    if (!std::exchange(first, false))
      *out++ = ',';
    append_quoted(name, out);
    *out++ = ':';
    std::memcpy(out, value.data(), value.size());
    out += value.size();
  }
  *out++ = '}';
  std::memset(out, 0, SIMDJSON_PADDING);
  return json_text{checked{}, {begin, static_cast<std::size_t>(out - begin)}, std::move(storage)};
}

void json_text::scan(std::span<const std::string_view> names, std::span<std::string_view> out) const {
  std::fill(out.begin(), out.end(), std::string_view{});
  with_object(text_, [&](od::object& object) {
    for (auto result : object) { // every field: of a key written twice, the last counts, as in serdes::json
      od::field field;
      if (auto e = std::move(result).get(field))
        malformed(e);
      const auto key = field.key();
      for (std::size_t i = 0; i < names.size(); ++i)
        if (key.unsafe_is_equal(names[i])) {
          out[i] = raw_of(field.value());
          break;
        }
    }
  });
}

std::optional<std::string_view> json_text::find(std::string_view name) const {
  std::string_view text;
  scan({&name, 1}, {&text, 1});
  if (text.data() == nullptr)
    return std::nullopt;
  return text;
}

void json_text::absent(std::string_view name) { throw std::out_of_range("no field '" + std::string{name} + "'"); }

std::string_view json_text::raw(std::string_view name) const {
  auto text = find(name);
  if (!text)
    absent(name);
  return *text;
}

double json_text::number(std::string_view name) const {
  const auto text = raw(name);
  if (text.front() != '-' && (text.front() < '0' || text.front() > '9'))
    throw std::invalid_argument("field '" + std::string{name} + "' is not a number");
  // Not simdjson 3.0's own reading, which is not correctly rounded for some long decimals.
  return detail::parse_json_scalar(text).to_number<double>();
}

std::string json_text::string(std::string_view name) const {
  const auto text = raw(name);
  if (text.front() != '"')
    throw std::invalid_argument("field '" + std::string{name} + "' is not a string");
  const auto value = serdes::parse_json(text); // unescaped
  const auto& s = value.get_string();
  return std::string{s.data(), s.size()};
}

boost::json::value json_text::to_value() const { return serdes::parse_json(text_, storage_); }

boost::json::value detail::parse_json_scalar(std::string_view text) {
  const char* begin = text.data();
  const char* end = begin + text.size();
  int64_t i;
  if (auto [p, ec] = std::from_chars(begin, end, i); ec == std::errc{} && p == end)
    return i;
  uint64_t u;
  if (auto [p, ec] = std::from_chars(begin, end, u); ec == std::errc{} && p == end)
    return u;
  double d;
  if (auto [p, ec] = std::from_chars(begin, end, d); ec == std::errc{} && p == end)
    return d;
  return serdes::parse_json(text);
}

} // namespace sluice
