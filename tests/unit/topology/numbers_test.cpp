// Numbers are exact: every path that reads JSON text yields the correctly rounded double
// (std::from_chars, or the compiler's own reading of a literal), and printing then reading
// gives back the same bits.
#include <sluice/topology/pattern.hpp>
#include <sluice/topology/stream.hpp>
#include <sluice/topology/test_driver.hpp>

#include <gtest/gtest.h>

#include <bit>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace json = boost::json;
using namespace sluice;
using namespace std::chrono_literals;

namespace {

uint64_t bits(double d) { return std::bit_cast<uint64_t>(d); }

// What std::from_chars reads from `text` (which must be entirely a number in range).
double reference(std::string_view text) {
  double d = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
  EXPECT_TRUE(ec == std::errc{} && end == text.data() + text.size()) << text;
  return d;
}

// One way JSON text becomes a number in sluice: the number `text`, placed in the document the
// path reads, comes back as a JSON value.
struct json_path {
  const char* name;
  std::function<json::value(const std::string& text)> read;
};

const std::vector<json_path>& every_path() {
  static const std::vector<json_path> paths{
    {"serdes::json, object member",
     [](const std::string& t) { return serdes::json{}.deserialize(R"({"a":"x","v":)" + t + "}").at("v"); }},
    {"serdes::json, array element",
     [](const std::string& t) { return serdes::json{}.deserialize("[1,[" + t + "],true]").at(1).at(0); }},
    {"serdes::json, document", [](const std::string& t) { return serdes::json{}.deserialize(t); }},
    {"parse_json into an arena",
     [](const std::string& t) {
       json::monotonic_resource arena;
       const auto v = serdes::parse_json(R"({"v":[)" + t + "]}", &arena);
       return json::value(v.at("v").at(0), json::storage_ptr{}); // copied out before the arena goes
     }},
    {"windowed JSON key",
     [](const std::string& t) {
       return serdes::windowed_json<serdes::json>{}
         .deserialize(R"({"key":{"v":)" + t + R"(},"start":0,"end":10})")
         .key.at("v");
     }},
    {"ranking value",
     [](const std::string& t) {
       return serdes::ranking_json<serdes::string, serdes::json>{}
         .deserialize(R"([{"rank":1,"key":"k","value":)" + t + R"(,"score":0}])")
         .at(0)
         .value;
     }},
    {"pattern state",
     [](const std::string& t) {
       std::vector<json::value> rows;
       decode_partial_match(R"([{"v":)" + t + "}]", rows);
       return rows.at(0).at("v");
     }},
  };
  return paths;
}

// Checks that every path reads the double `expected` (bit for bit) from each text; reports the
// first few misses of each path and how many there were.
::testing::AssertionResult every_path_reads(const std::vector<std::pair<std::string, double>>& cases) {
  std::string misses;
  for (const auto& path : every_path()) {
    size_t n = 0;
    for (const auto& [text, expected] : cases) {
      const auto v = path.read(text);
      if (v.is_double() && bits(v.get_double()) == bits(expected))
        continue;
      if (++n <= 3)
        misses += std::string("\n  ") + path.name + ": " + text + " read as " + json::serialize(v) + " (kind " +
                  std::to_string(static_cast<int>(v.kind())) + "), expected " + json::serialize(json::value(expected));
    }
    if (n > 0)
      misses +=
        std::string("\n  ") + path.name + ": " + std::to_string(n) + " of " + std::to_string(cases.size()) + " wrong";
  }
  if (misses.empty())
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << misses;
}

// Checks that json_text::number (the On-Demand path, no document built) reads the double
// `expected` (bit for bit) from each text placed in an object.
::testing::AssertionResult json_text_reads(const std::vector<std::pair<std::string, double>>& cases) {
  std::string misses;
  size_t n = 0;
  for (const auto& [text, expected] : cases) {
    const double d = sluice::json_text{R"({"a":"x","v":)" + text + "}"}.number("v");
    if (bits(d) != bits(expected) && ++n <= 3)
      misses += "\n  " + text + " read as " + json::serialize(json::value(d));
  }
  if (n == 0)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "json_text::number: " << n << " of " << cases.size() << " wrong" << misses;
}

std::string to_text(double d, std::chars_format format, int precision) {
  char buf[64];
  return {buf, std::to_chars(buf, buf + sizeof buf, d, format, precision).ptr};
}

std::string shortest(double d) {
  char buf[64];
  return {buf, std::to_chars(buf, buf + sizeof buf, d).ptr};
}

// A finite double with uniformly random bits: every exponent and sign equally likely.
double random_finite(std::mt19937_64& rng) {
  for (;;)
    if (const double d = std::bit_cast<double>(rng()); std::isfinite(d))
      return d;
}

// A random JSON number with 15 to 20 significant digits and a random exponent, as a producer
// might write it: scientific ("-4.3527e-201", "7.1E+12", "3e5") or positional ("123.45",
// "0.000123").
std::string random_decimal(std::mt19937_64& rng) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  std::string digits(static_cast<size_t>(pick(15, 20)), '0');
  digits[0] = static_cast<char>('1' + pick(0, 8));
  for (size_t i = 1; i < digits.size(); ++i)
    digits[i] = static_cast<char>('0' + pick(0, 9));
  std::string out = pick(0, 1) ? "-" : "";
  if (pick(0, 3) != 0) { // scientific over the whole range of normal and subnormal doubles
    out += digits[0];
    out += '.';
    out.append(digits, 1);
    out += pick(0, 1) ? 'e' : 'E';
    const int exponent = pick(-323, 307);
    out += exponent < 0 ? "-" : (pick(0, 1) ? "+" : "");
    out += std::to_string(std::abs(exponent));
  } else if (const int point = pick(-12, static_cast<int>(digits.size()) - 1); point <= 0) {
    out += "0." + std::string(static_cast<size_t>(-point), '0') + digits;
  } else {
    out += digits.substr(0, static_cast<size_t>(point)) + "." + digits.substr(static_cast<size_t>(point));
  }
  return out;
}

} // namespace

TEST(numbers, hard_cases_read_exactly_on_every_path) {
  // Expected values are C++ literals: the compiler's correctly rounded reading, independent of
  // the library under test.
  const std::vector<std::pair<std::string, double>> cases{
    {"12.023955775077077", 12.023955775077077}, // read one ulp low by Boost.JSON 1.81
    {"2.2250738585072011e-308", 2.2250738585072011e-308},
    {"2.2250738585072012e-308", 2.2250738585072012e-308},
    {"9007199254740993.0", 9007199254740992.0}, // halfway: ties to even
    {"9007199254740993e0", 9007199254740992.0},
    {"0.1", 0.1},
    {"0.3", 0.3},
    {"1e23", 1e23},
    {"8.589973e9", 8.589973e9},
    {"5e-324", 0x1p-1074},
    {"4.9406564584124654e-324", 0x1p-1074},
    {"2.4703282292062328e-324", 0x1p-1074}, // just above half the smallest subnormal
    {"2.4703282292062327e-324", 0.0},       // just below: rounds to zero
    {"1.7976931348623157e308", std::numeric_limits<double>::max()},
    {"1.7976931348623158e308", std::numeric_limits<double>::max()},
    {"1.7976931348623159e308", std::numeric_limits<double>::infinity()}, // past the halfway point
    {"1e400", std::numeric_limits<double>::infinity()},
    {"-1e400", -std::numeric_limits<double>::infinity()},
    {"1e-400", 0.0},
    {"-1e-400", -0.0},
    {"-0.0", -0.0},
    {"-0e0", -0.0},
    {"0.0", 0.0},
    {"1E+2", 100.0},
    {"1e-2", 0.01},
    {"-1.5E-10", -1.5e-10},
    {"123456789012345678901234567890", 123456789012345678901234567890.0}, // beyond uint64
    {"18446744073709551616", 18446744073709551616.0},
    {"-9223372036854775809", -9223372036854775809.0},
    {"3.14159265358979323846264338327950288419716939937510582097494459230781640628620899862803482534211706",
     3.14159265358979323846264338327950288419716939937510582097494459230781640628620899862803482534211706},
    {"0.0000000000000000000000000000000000000000000000000000000000000000000000000000000001234567890123456789",
     0.0000000000000000000000000000000000000000000000000000000000000000000000000000000001234567890123456789},
  };
  EXPECT_TRUE(every_path_reads(cases));
  EXPECT_TRUE(json_text_reads(cases));
  std::vector<std::pair<std::string, double>> negated;
  for (const auto& [text, d] : cases)
    if (text[0] != '-')
      negated.emplace_back("-" + text, -d);
  EXPECT_TRUE(every_path_reads(negated));
  EXPECT_TRUE(json_text_reads(negated));
}

TEST(numbers, integers_stay_exact_integers) {
  for (const auto& path : every_path()) {
    SCOPED_TRACE(path.name);
    const auto a = path.read("9007199254740993");
    ASSERT_TRUE(a.is_int64());
    EXPECT_EQ(a.get_int64(), 9007199254740993);
    EXPECT_EQ(path.read("-9223372036854775808"), json::value(std::numeric_limits<int64_t>::min()));
    const auto u = path.read("18446744073709551615");
    ASSERT_TRUE(u.is_uint64());
    EXPECT_EQ(u.get_uint64(), std::numeric_limits<uint64_t>::max());
    EXPECT_TRUE(path.read("-0").is_int64());
  }
}

TEST(numbers, random_bit_patterns_read_exactly_on_every_path) {
  std::mt19937_64 rng(20240611);
  std::vector<std::pair<std::string, double>> cases;
  for (int i = 0; i < 50000; ++i) {
    const double d = random_finite(rng);
    cases.emplace_back(to_text(d, std::chars_format::scientific, 16), d); // 17 significant digits
    for (auto text : {to_text(d, std::chars_format::general, 17), shortest(d)})
      if (text.find_first_of(".e") != std::string::npos) // integers are integers, tested above
        cases.emplace_back(std::move(text), d);
  }
  EXPECT_TRUE(every_path_reads(cases));
  EXPECT_TRUE(json_text_reads(cases));
}

TEST(numbers, random_decimals_of_15_to_20_digits_read_exactly_on_every_path) {
  std::mt19937_64 rng(7);
  std::vector<std::pair<std::string, double>> cases;
  for (int i = 0; i < 50000; ++i) {
    auto text = random_decimal(rng);
    const double d = reference(text);
    cases.emplace_back(std::move(text), d);
  }
  EXPECT_TRUE(every_path_reads(cases));
  EXPECT_TRUE(json_text_reads(cases));
}

TEST(numbers, readings_like_cpu_usage_read_exactly) {
  // Usages in [0, 100) with 17 significant digits, as the cpu load generator writes them.
  std::mt19937_64 rng(11);
  std::vector<std::pair<std::string, double>> cases;
  for (int i = 0; i < 20000; ++i) {
    const double usage = 100.0 * static_cast<double>(rng() >> 11) * 0x1.0p-53;
    auto text = to_text(usage, std::chars_format::general, 17);
    cases.emplace_back(std::move(text), reference(text));
  }
  EXPECT_TRUE(every_path_reads(cases));
}

TEST(numbers, printing_is_shortest_round_trip) {
  auto print = [](const json::value& v) {
    std::string out;
    serdes::json{}.serialize(v, out);
    return out;
  };
  EXPECT_EQ(print(0.1), "0.1");
  EXPECT_EQ(print(12.023955775077077), "12.023955775077077");
  EXPECT_EQ(print(97.5), "97.5");
  EXPECT_EQ(print(95.0), "95");
  EXPECT_EQ(print(1e23), "1e+23");
  EXPECT_EQ(print(0x1p-1074), "5e-324");
  EXPECT_EQ(print(2.2250738585072014e-308), "2.2250738585072014e-308");
  EXPECT_EQ(print(std::numeric_limits<double>::max()), "1.7976931348623157e+308");
  EXPECT_EQ(print(-0.0), "-0.0");
  EXPECT_EQ(print(0.0), "0");
  EXPECT_EQ(print(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(print(std::numeric_limits<double>::quiet_NaN()), "null");
  EXPECT_EQ(print(json::value{{"a", json::array{1.5, -2e-7, 9007199254740993}}, {"b", -0.25}}),
            R"({"a":[1.5,-2e-07,9007199254740993],"b":-0.25})");
}

TEST(numbers, typed_json_writes_integral_doubles_with_a_fraction_so_they_read_back_as_doubles) {
  serdes::typed_json serde;
  auto print = [&](const json::value& v) {
    std::string out;
    serde.serialize(v, out);
    return out;
  };
  EXPECT_EQ(print(95.0), "95.0");
  EXPECT_EQ(print(0.0), "0.0");
  EXPECT_EQ(print(-0.0), "-0.0");
  EXPECT_EQ(print(97.5), "97.5");
  EXPECT_EQ(print(1e23), "1e+23");
  EXPECT_EQ(print(95), "95");
  EXPECT_EQ(print(json::value{{"a", json::array{20.0, 20}}, {"b", json::object{{"c", -3.0}}}}),
            R"({"a":[20.0,20],"b":{"c":-3.0}})");
  const auto back = serde.deserialize(print(json::value{{"d", 95.0}, {"i", 95}, {"big", 1e23}}));
  EXPECT_TRUE(back.at("d").is_double());
  EXPECT_TRUE(back.at("i").is_int64());
  EXPECT_TRUE(back.at("big").is_double());
  EXPECT_EQ(back.at("d").get_double(), 95.0);
}

TEST(numbers, print_then_read_is_bit_identical) {
  std::mt19937_64 rng(3);
  std::vector<double> doubles{-0.0,
                              0.0,
                              0x1p-1074,
                              -0x1p-1074,
                              std::numeric_limits<double>::max(),
                              std::numeric_limits<double>::lowest(),
                              9007199254740992.0,
                              0x1p63,
                              0x1p64,
                              18446744073709549568.0 /* largest double below 2^64 */,
                              1e300};
  for (int i = 0; i < 20000; ++i)
    doubles.push_back(random_finite(rng));
  for (int i = 0; i < 5000; ++i) // integral doubles print as integers: int64, uint64 and beyond
    doubles.push_back(std::ldexp(static_cast<double>(rng() | 1), static_cast<int>(rng() % 80)) * (rng() % 2 ? -1 : 1));
  serdes::json serde;
  std::string out;
  size_t wrong = 0;
  for (const double d : doubles) {
    const json::value doc{{"x", d}, {"a", json::array{d, 1, json::object{{"y", d}}}}};
    serde.serialize(doc, out);
    const auto back = serde.deserialize(out);
    for (const auto* v : {&back.at("x"), &back.at("a").at(0), &back.at("a").at(2).at("y")})
      if (!v->is_number() || bits(v->to_number<double>()) != bits(d)) {
        if (++wrong <= 3)
          ADD_FAILURE() << shortest(d) << " printed " << out << " read back " << json::serialize(back);
        break;
      }
  }
  EXPECT_EQ(wrong, 0u) << " of " << doubles.size();
}

TEST(numbers, malformed_numbers_and_documents_are_rejected) {
  for (const char* bad :
       {"", "-", "1.", ".5", "01", "1e", "1e+", "+1", "[1,", "1 2", "{\"v\":1.5", "NaN", "Infinity"}) {
    SCOPED_TRACE(bad);
    try {
      serdes::parse_json(bad);
      ADD_FAILURE() << "accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("malformed JSON"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(serdes::parse_json(" [1.5] \n"), (json::array{1.5})); // surrounding white space is fine
  EXPECT_TRUE(serdes::json{}.deserialize("").is_null());          // a Kafka null
}

TEST(numbers, parse_json_allocates_from_the_given_storage) {
  json::monotonic_resource arena;
  json::storage_ptr sp(&arena);
  const auto v = serdes::parse_json(R"({"a":[1.25,"text"]})", sp);
  EXPECT_EQ(v.storage().get(), sp.get());
  EXPECT_EQ(v.at("a").storage().get(), sp.get());
  EXPECT_EQ(serdes::parse_json("[2.5]").storage().get(), json::storage_ptr{}.get());
}

TEST(numbers, windowed_max_and_min_are_inputs) {
  // max/min of 10 keys x 40 windows x 25 readings, as built-in field aggregations (the aggregate
  // kept as raw doubles) and as a reduce over JSON rows (the aggregate kept as JSON text).
  topology_builder b;
  auto w = b.stream<serdes::string, serdes::json>("in", consumed<json::value>{timestamps::json_field_ms("t")})
             .group_by_key()
             .windowed_by(tumbling(10s).emit_final());
  w.agg({agg::max("v", "v_max"), agg::min("v", "v_min")}, "minmax").to_stream().to("fields");
  w.reduce([](const json::value& a,
              const json::value& r) { return r.at("v").to_number<double>() > a.at("v").to_number<double>() ? r : a; },
           "max-row")
    .to_stream()
    .to("reduced");
  topology_test_driver d{b.build()};

  std::mt19937_64 rng(5);
  constexpr int keys = 10, windows = 40, per_window = 25;
  struct extremes {
    double max = -std::numeric_limits<double>::infinity();
    double min = std::numeric_limits<double>::infinity();
    std::set<uint64_t> inputs;
  };
  std::map<std::pair<std::string, int64_t>, extremes> expected; // by (key, window start)
  for (int window = 0; window < windows; ++window)
    for (int i = 0; i < per_window; ++i)
      for (int k = 0; k < keys; ++k) {
        const double x = 200.0 * static_cast<double>(rng() >> 11) * 0x1.0p-53 - 100.0;
        const auto text = i % 2 ? to_text(x, std::chars_format::general, 17) : random_decimal(rng);
        const int64_t t = window * 10000 + i * 100;
        d.pipe("in", "k" + std::to_string(k), R"({"t":)" + std::to_string(t) + R"(,"v":)" + text + "}", t);
        auto& e = expected[{"k" + std::to_string(k), window * 10000}];
        const double v = reference(text);
        e.max = std::max(e.max, v);
        e.min = std::min(e.min, v);
        e.inputs.insert(bits(v));
      }
  d.pipe("in", "k0", R"({"t":1000000,"v":0})", 1000000); // closes every window above

  using wserde = serdes::windowed_json<serdes::string>;
  const auto fields = d.read_output<wserde, serdes::json>("fields");
  ASSERT_EQ(fields.size(), expected.size());
  size_t wrong = 0;
  for (const auto& [key, row] : fields) {
    const auto& e = expected.at({key.key, key.start});
    const double max = row.at("v_max").to_number<double>(), min = row.at("v_min").to_number<double>();
    if (bits(max) != bits(e.max) || bits(min) != bits(e.min) || !e.inputs.contains(bits(max)) ||
        !e.inputs.contains(bits(min)))
      if (++wrong <= 3)
        ADD_FAILURE() << key.key << "@" << key.start << ": " << json::serialize(row) << ", expected max "
                      << shortest(e.max) << " min " << shortest(e.min);
  }
  const auto reduced = d.read_output<wserde, serdes::json>("reduced");
  ASSERT_EQ(reduced.size(), expected.size());
  for (const auto& [key, row] : reduced) {
    const auto& e = expected.at({key.key, key.start});
    if (bits(row.at("v").to_number<double>()) != bits(e.max))
      if (++wrong <= 6)
        ADD_FAILURE() << key.key << "@" << key.start << ": " << json::serialize(row) << ", expected max "
                      << shortest(e.max);
  }
  EXPECT_EQ(wrong, 0u) << " of " << 2 * expected.size() << " windows";
}
