// Message templates: plain fields as before, and the format specs `.Nf`, `iso` and `iso_ms`.
// Expected texts are Python's ('%.2f' % x, datetime.fromtimestamp(..., timezone.utc).isoformat()).
#include <sluice/connectors/http/message_template.hpp>

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

namespace json = boost::json;
using namespace sluice;

namespace {

// `text` rendered with the JSON object `record`, or "error: <message>".
std::string rendered(std::string_view text, std::string_view record) {
  auto r = render(text, json::parse(record).as_object());
  return r ? *r : "error: " + r.error().message;
}

bool parses(std::string_view text) { return message_template::parse(text).has_value(); }

} // namespace

TEST(message_template, plain_fields_print_as_before) {
  EXPECT_EQ(
    rendered("host:{hostname} CPU:{usage} n={n} ok={ok} {{x}}", R"({"hostname":"doc","usage":20.0,"n":3,"ok":true})"),
    "host:doc CPU:20.0 n=3 ok=true {x}");
  EXPECT_EQ(rendered("{usage}", R"({"usage":81.70311657475193})"), "81.70311657475193");
}

TEST(message_template, fixed_decimals_round_as_printf) {
  EXPECT_EQ(rendered("{usage:.2f}", R"({"usage":81.70311657475193})"), "81.70");
  EXPECT_EQ(rendered("{total:.2f}", R"({"total":5003532.6899999995})"), "5003532.69");
  EXPECT_EQ(rendered("{x:.2f}", R"({"x":-2.345})"), "-2.35");
  EXPECT_EQ(rendered("{x:.2f}", R"({"x":-0.001})"), "-0.00");
  EXPECT_EQ(rendered("{x:.0f}", R"({"x":2.5})"), "2"); // ties to even, as printf
  EXPECT_EQ(rendered("{x:.3f}", R"({"x":1e20})"), "100000000000000000000.000");
  EXPECT_EQ(rendered("{x:.17f}", R"({"x":0.1})"), "0.10000000000000001");
}

TEST(message_template, fixed_decimals_of_integers_are_exact) {
  EXPECT_EQ(rendered("{n:.2f}", R"({"n":42})"), "42.00");
  EXPECT_EQ(rendered("{n:.2f}", R"({"n":-7})"), "-7.00");
  EXPECT_EQ(rendered("{n:.0f}", R"({"n":9007199254740993})"), "9007199254740993");
  EXPECT_EQ(rendered("{n:.1f}", R"({"n":18446744073709551615})"), "18446744073709551615.0");
}

TEST(message_template, huge_double_prints_all_its_digits) {
  const auto text = rendered("{x:.2f}", R"({"x":1.7976931348623157e308})");
  EXPECT_EQ(text.size(), 309u + 3u);
  EXPECT_EQ(text.substr(0, 17), "17976931348623157");
  EXPECT_EQ(text.substr(text.size() - 3), ".00");
}

TEST(message_template, iso_prints_epoch_milliseconds_as_utc) {
  EXPECT_EQ(rendered("{ts:iso}", R"({"ts":1796287265123})"), "2026-12-03T08:41:05Z");
  EXPECT_EQ(rendered("{ts:iso_ms}", R"({"ts":1796287265123})"), "2026-12-03T08:41:05.123Z");
  EXPECT_EQ(rendered("{ts:iso}", R"({"ts":0})"), "1970-01-01T00:00:00Z");
  EXPECT_EQ(rendered("{ts:iso_ms}", R"({"ts":-1})"), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(rendered("{ts:iso}", R"({"ts":951868799000})"), "2000-02-29T23:59:59Z");
  EXPECT_EQ(rendered("{ts:iso_ms}", R"({"ts":253402300799999})"), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(rendered("{ts:iso_ms}", R"({"ts":1796287265123.9})"), "2026-12-03T08:41:05.123Z");
}

TEST(message_template, a_spec_formats_only_its_field) {
  EXPECT_EQ(
    rendered("[{start:iso}, {end:iso}) {n} {avg:.2f} {avg}", R"({"start":60000,"end":120000,"n":5,"avg":1.005})"),
    "[1970-01-01T00:01:00Z, 1970-01-01T00:02:00Z) 5 1.00 1.005");
}

TEST(message_template, a_field_of_the_wrong_kind_fails_to_render_naming_it) {
  EXPECT_EQ(rendered("{usage:.2f}", R"({"usage":"high"})"),
            "error: message template: field 'usage' is a string (high); '{usage:.2f}' needs a number");
  EXPECT_EQ(rendered("{usage:.2f}", R"({"usage":null})"),
            "error: message template: field 'usage' is null (null); '{usage:.2f}' needs a number");
  EXPECT_EQ(rendered("{ts:iso}", R"({"ts":"2026-12-03"})"),
            "error: message template: field 'ts' is a string (2026-12-03); '{ts:iso}' needs epoch milliseconds");
  EXPECT_EQ(rendered("{ts:iso}", R"({"ts":[1]})"),
            "error: message template: field 'ts' is an array ([1]); '{ts:iso}' needs epoch milliseconds");
  EXPECT_EQ(rendered("{ts:iso}", R"({"ts":253402300800000})"),
            "error: message template: field 'ts' is outside the years 0000-9999 (253402300800000); '{ts:iso}' "
            "needs epoch milliseconds");
  EXPECT_EQ(rendered("{ts:iso}", R"({"ts":1e300})"),
            "error: message template: field 'ts' is outside the years 0000-9999 (1e+300); '{ts:iso}' needs epoch "
            "milliseconds");
  EXPECT_EQ(rendered("{ts:iso}", R"({"ts":-62167219200001})"),
            "error: message template: field 'ts' is outside the years 0000-9999 (-62167219200001); '{ts:iso}' needs "
            "epoch milliseconds");
  EXPECT_EQ(rendered("{ts:iso}", R"({"ts":-62167219200000})"), "0000-01-01T00:00:00Z");
}

TEST(message_template, a_missing_field_fails_whatever_its_spec) {
  EXPECT_EQ(rendered("{usage:.2f}", R"({"cpu":"cpu1"})"),
            "error: message template: unknown field 'usage' (record has: cpu)");
}

TEST(message_template, an_unknown_spec_fails_to_parse) {
  EXPECT_TRUE(parses("{a:.0f} {a:.17f} {a:iso} {a:iso_ms}"));
  for (const char* bad :
       {"{a:}", "{a:.18f}", "{a:.2}", "{a:2f}", "{a:.f}", "{a:.2e}", "{a:ISO}", "{a:.100f}", "{:iso}"})
    EXPECT_FALSE(parses(bad)) << bad;
  auto r = message_template::parse("usage {usage:.2d}");
  ASSERT_FALSE(r);
  EXPECT_EQ(
    r.error().message,
    "message template: unknown format '.2d' for field 'usage' at offset 6 (known: .Nf with N 0-17, iso, iso_ms)");
}

TEST(message_template, fields_are_named_without_their_specs) {
  auto t = message_template::parse("{a:.2f} {b} {c:iso}");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->fields(), (std::vector<std::string>{"a", "b", "c"}));
}
