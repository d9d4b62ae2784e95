// The JSON serdes and the stored JSON formats built on them (windowed keys, rankings, keyed
// changes, pattern state): whatever the input, reading either succeeds or throws a
// std::exception, and what was read writes out as text that reads back to the same thing.
#include "fuzz_check.hpp"

#include <sluice/topology/pattern.hpp>
#include <sluice/topology/serdes.hpp>
#include <sluice/topology/table.hpp>
#include <sluice/topology/windows.hpp>

#include <cmath>
#include <exception>
#include <vector>

namespace json = boost::json;
using namespace sluice;
using sluice::fuzz::check;

namespace {

// True if `v` holds no NaN or infinity (written as null, so not read back as themselves).
bool all_finite(const json::value& v) {
  switch (v.kind()) {
  case json::kind::double_:
    return std::isfinite(v.get_double());
  case json::kind::array:
    for (const auto& x : v.get_array())
      if (!all_finite(x))
        return false;
    return true;
  case json::kind::object:
    for (const auto& [k, x] : v.get_object())
      if (!all_finite(x))
        return false;
    return true;
  default:
    return true;
  }
}

// True if `a` and `b` are equal with every double the same bits and of the same kind (Boost's
// == says 0.0 == -0.0).
bool identical(const json::value& a, const json::value& b) {
  if (a.kind() != b.kind())
    return false;
  switch (a.kind()) {
  case json::kind::double_:
    return fuzz::same_bits(a.get_double(), b.get_double());
  case json::kind::array: {
    const auto &x = a.get_array(), &y = b.get_array();
    if (x.size() != y.size())
      return false;
    for (size_t i = 0; i < x.size(); ++i)
      if (!identical(x[i], y[i]))
        return false;
    return true;
  }
  case json::kind::object: {
    const auto &x = a.get_object(), &y = b.get_object();
    if (x.size() != y.size())
      return false;
    for (auto i = x.begin(), j = y.begin(); i != x.end(); ++i, ++j)
      if (i->key() != j->key() || !identical(i->value(), j->value()))
        return false;
    return true;
  }
  default:
    return a == b;
  }
}

// As `identical`, except that an integral double written "95" may read back as the integer 95
// (serdes::json's contract), whose double is then the same.
bool read_back_equal(const json::value& a, const json::value& b) {
  if (a.is_double() && (b.is_int64() || b.is_uint64()))
    return fuzz::same_bits(a.get_double(), b.to_number<double>());
  if (a.kind() != b.kind())
    return false;
  if (a.is_array()) {
    const auto &x = a.get_array(), &y = b.get_array();
    if (x.size() != y.size())
      return false;
    for (size_t i = 0; i < x.size(); ++i)
      if (!read_back_equal(x[i], y[i]))
        return false;
    return true;
  }
  if (a.is_object()) {
    const auto &x = a.get_object(), &y = b.get_object();
    if (x.size() != y.size())
      return false;
    for (auto i = x.begin(), j = y.begin(); i != x.end(); ++i, ++j)
      if (i->key() != j->key() || !read_back_equal(i->value(), j->value()))
        return false;
    return true;
  }
  return identical(a, b);
}

// serialize(deserialize(x)) is a fixed point: reading and writing it again gives the same bytes.
template <class S>
void check_fixed_point(std::string_view in, const char* name) {
  S serde;
  std::string once, twice;
  try {
    serde.serialize(serde.deserialize(in), once);
  } catch (const std::exception&) {
    return; // malformed for this format: rejected with an exception, as promised
  }
  serde.serialize(serde.deserialize(once), twice);
  check(once == twice, name, once + " != " + twice);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto in = fuzz::text_of(data, size);

  json::value v;
  try {
    v = serdes::json{}.deserialize(in);
  } catch (const std::invalid_argument&) {
    v = nullptr; // malformed: fine, the formats below still get the input
  }
  if (!in.empty() && !v.is_null()) {
    // Plain: what was read writes out and reads back equal (integral doubles as integers).
    std::string out;
    serdes::json{}.serialize(v, out);
    const auto back = serdes::json{}.deserialize(out);
    if (all_finite(v))
      check(read_back_equal(v, back), "json: serialize(parse(x)) reads back equal", out);
    std::string again;
    serdes::json{}.serialize(back, again);
    check(out == again, "json: serialize is a fixed point", out + " vs " + again);

    // Typed: doubles keep their kind too, so the value reads back identical.
    serdes::typed_json{}.serialize(v, out);
    const auto typed_back = serdes::json{}.deserialize(out);
    if (all_finite(v))
      check(identical(v, typed_back), "typed_json: serialize(parse(x)) reads back identical", out);

    // Into an arena: the same value as with the default resource.
    json::monotonic_resource arena;
    check(identical(serdes::parse_json(in, &arena), v), "parse_json into an arena reads the same", in);
  }

  // Kept as text: read or rejected with std::invalid_argument; what is read is the input byte for
  // byte, and in an object without escapes (keys are matched as written) every field reads as the
  // parsed document's (of a key written twice, the last).
  try {
    const json_text text{in};
    if (!in.empty())
      check(text.text() == in, "json_text keeps the input's bytes", in);
    if (v.is_object() && in.find('\\') == std::string_view::npos)
      for (const auto& [key, value] : v.get_object()) {
        const auto raw = text.find(key);
        check(raw.has_value(), "json_text finds every field", std::string{key});
        if (raw)
          check(identical(serdes::parse_json(*raw), value), "json_text fields read as parsed", std::string{*raw});
      }
  } catch (const std::invalid_argument&) {
  }

  check_fixed_point<serdes::windowed_json<serdes::json>>(in, "windowed_json<json>");
  check_fixed_point<serdes::windowed_json<serdes::string>>(in, "windowed_json<string>");
  check_fixed_point<serdes::ranking_json<serdes::string, serdes::json>>(in, "ranking_json<string, json>");
  check_fixed_point<serdes::keyed_change_bytes<serdes::string, serdes::json>>(in, "keyed_change_bytes");

  // Pattern state: decoded rows encode to text that decodes to the same rows.
  std::vector<json::value> rows;
  try {
    decode_partial_match(in, rows);
  } catch (const std::exception&) {
    return 0;
  }
  std::string encoded;
  encode_partial_match(rows, encoded);
  std::vector<json::value> rows_back;
  decode_partial_match(encoded, rows_back);
  check(rows.size() == rows_back.size(), "pattern state: row count survives", encoded);
  for (size_t i = 0; i < rows.size(); ++i)
    if (all_finite(rows[i]))
      check(read_back_equal(rows[i], rows_back[i]), "pattern state: rows read back equal", encoded);
  return 0;
}
