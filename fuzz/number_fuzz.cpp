// Numbers: a JSON number reads as the correctly rounded double (what std::from_chars reads), in a
// document, an object or an array alike; any finite double, printed, reads back bit-identical
// (an integral one as the integer of that double); the int64 serde round-trips its 8 bytes.
#include "fuzz_check.hpp"

#include <sluice/topology/serdes.hpp>

#include <charconv>
#include <cmath>
#include <cstring>

namespace json = boost::json;
using namespace sluice;
using sluice::fuzz::check;
using sluice::fuzz::same_bits;

namespace {

// True if `v` is the double `d`, or an integer whose double is `d`.
bool reads_as(const json::value& v, double d) {
  if (v.is_double())
    return same_bits(v.get_double(), d);
  return (v.is_int64() || v.is_uint64()) && same_bits(v.to_number<double>(), d);
}

// A finite double prints as JSON that reads back as itself, with serdes::json and typed_json.
void check_prints_and_reads_back(double d) {
  if (!std::isfinite(d))
    return;
  std::string text;
  serdes::write_json(json::value(d), text);
  check(reads_as(serdes::parse_json(text), d), "write_json(d) reads back as d", text);
  serdes::typed_json{}.serialize(json::value(d), text);
  const auto typed = serdes::parse_json(text);
  check(typed.is_double() && same_bits(typed.get_double(), d), "typed_json(d) reads back as the double d", text);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto in = fuzz::text_of(data, size);

  // Any 8 bytes as a double.
  if (size >= 8) {
    double d;
    std::memcpy(&d, data, sizeof d);
    check_prints_and_reads_back(d);
  }
  // The int64 serde.
  if (size == 8) {
    serdes::int64 s;
    std::string out;
    s.serialize(s.deserialize(in), out);
    check(out == in, "int64 serde round-trips its 8 bytes", in);
  }

  // The input as JSON text.
  json::value v;
  try {
    v = serdes::parse_json(in);
  } catch (const std::invalid_argument&) {
    return 0;
  }
  if (!v.is_number())
    return 0;
  const std::string text{in};
  check(v == serdes::parse_json("{\"a\":\"x\",\"v\":" + text + "}").at("v"), "a number reads the same in an object",
        in);
  check(v == serdes::parse_json("[1,[" + text + "],true]").at(1).at(0), "a number reads the same in an array", in);
  if (!v.is_double())
    return 0;
  const double d = v.get_double();
  double expected = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), expected);
  if (end == text.data() + text.size()) { // the input is exactly the number (no whitespace around it)
    if (ec == std::errc{})
      check(same_bits(d, expected), "a JSON number reads as the correctly rounded double", in);
    else
      check(!std::isfinite(d) || d == 0, "out of range: infinity or zero", in);
  }
  check_prints_and_reads_back(d);
  return 0;
}
