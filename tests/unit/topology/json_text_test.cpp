// json_text: checked when read, fields from the text on demand, written out byte for byte.
// Expected values are written out by hand or computed with Boost.JSON (serdes::parse_json).
#include <sluice/topology/json_arena.hpp>
#include <sluice/topology/json_text.hpp>
#include <sluice/topology/serdes.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace json = boost::json;
using sluice::json_text;

namespace {

const std::string reading =
  R"({"occurred_at": 1700000000123, "hostname":"doc","cpu" :"cpu-1" , "usage":91.25,)"
  R"( "tags":["a",{"b":null}], "where":{"dc":"eu \"west\"","rack":7}, "ok":true, "none":null, "say":"tab\there"})";

} // namespace

TEST(json_text, fields_are_read_as_written) {
  const json_text t{reading};
  EXPECT_EQ(t.raw("occurred_at"), "1700000000123");
  EXPECT_EQ(t.raw("hostname"), R"("doc")");
  EXPECT_EQ(t.raw("cpu"), R"("cpu-1")");
  EXPECT_EQ(t.raw("usage"), "91.25");
  EXPECT_EQ(t.raw("tags"), R"(["a",{"b":null}])");
  EXPECT_EQ(t.raw("where"), R"({"dc":"eu \"west\"","rack":7})");
  EXPECT_EQ(t.raw("ok"), "true");
  EXPECT_EQ(t.raw("none"), "null");
  EXPECT_EQ(t.number("usage"), 91.25);
  EXPECT_EQ(t.number("occurred_at"), 1700000000123.0);
  EXPECT_EQ(t.string("hostname"), "doc");
  EXPECT_EQ(t.string("say"), "tab\there");
  EXPECT_EQ(t.find("missing"), std::nullopt);
  EXPECT_EQ(t.find("cpu"), R"("cpu-1")");
  const auto [usage, host, at] = t.raw_fields({"usage", "hostname", "occurred_at"});
  EXPECT_EQ(usage, "91.25");
  EXPECT_EQ(host, R"("doc")");
  EXPECT_EQ(at, "1700000000123");
}

TEST(json_text, absent_fields_and_wrong_types_throw_naming_the_field) {
  const json_text t{reading};
  try {
    (void)t.raw("usage_max");
    FAIL() << "expected std::out_of_range";
  } catch (const std::out_of_range& e) {
    EXPECT_STREQ(e.what(), "no field 'usage_max'");
  }
  EXPECT_THROW((void)t.number("nope"), std::out_of_range);
  EXPECT_THROW((void)t.raw_fields({"usage", "nope"}), std::out_of_range);
  try {
    (void)t.number("hostname");
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "field 'hostname' is not a number");
  }
  EXPECT_THROW((void)t.string("usage"), std::invalid_argument);
  EXPECT_THROW((void)json_text{"[1,2]"}.raw("a"), std::invalid_argument); // not an object
  EXPECT_THROW((void)json_text{"17"}.number("a"), std::invalid_argument); // not an object
}

TEST(json_text, malformed_text_is_rejected_when_read) {
  for (const std::string bad : {"{", "}", "{\"a\":}", "{\"a\" 1}", "{\"a\":1,}", "[1,]", "{\"a\":01}", "nul", "tru",
                                "{\"a\":\"unterminated}", "{\"a\":1} x", "{\"a\":1}{}", "{'a':1}", "\"\xff\"", " ",
                                "{\"a\":1e}", "{\"a\":-}", "{\"a\":.5}", "{\"a\":NaN}"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(json_text{bad}, std::invalid_argument);
    EXPECT_THROW(sluice::serdes::json{}.deserialize(bad), std::invalid_argument); // as Boost.JSON's reading says
  }
}

TEST(json_text, text_goes_through_byte_for_byte) {
  sluice::serdes::json_text serde;
  for (const std::string& in :
       {reading, std::string{R"({ "a" : 1.50 , "b":[ 1 , 2 ] })"}, std::string{"  [1e5] "}, std::string{R"("\u00e9")"},
        std::string{"-0.0"}, std::string{"123456789012345678901234567890"}, std::string{R"({"big":1e400})"}}) {
    std::string out;
    serde.serialize(serde.deserialize(in), out);
    EXPECT_EQ(out, in);
  }
  std::string out;
  serde.serialize(serde.deserialize(""), out); // a Kafka null reads as JSON null, as serdes::json reads it
  EXPECT_EQ(out, "null");
  EXPECT_EQ(json_text{}.text(), "null");
}

TEST(json_text, numbers_beyond_simdjsons_range_read_as_serdes_json_reads_them) {
  const json_text t{R"({"big":123456789012345678901234567890,"huge":1e400,"tiny":-1e-400})"};
  EXPECT_EQ(t.number("big"), 123456789012345678901234567890.0);
  EXPECT_EQ(t.number("huge"), std::numeric_limits<double>::infinity());
  EXPECT_EQ(t.number("tiny"), -0.0);
  EXPECT_TRUE(std::signbit(t.number("tiny")));
}

TEST(json_text, objects_are_written_from_fields_text) {
  const json_text t{reading};
  const auto row = json_text::object({{"time_ltz", t.raw("occurred_at")},
                                      {"host", t.raw("hostname")},
                                      {"where", t.raw("where")},
                                      {"quote\"d\n", t.raw("usage")}},
                                     t.storage());
  EXPECT_EQ(row.text(),
            R"({"time_ltz":1700000000123,"host":"doc","where":{"dc":"eu \"west\"","rack":7},"quote\"d\u000a":91.25})");
  const json::value want = {{"time_ltz", 1700000000123},
                            {"host", "doc"},
                            {"where", {{"dc", "eu \"west\""}, {"rack", 7}}},
                            {"quote\"d\n", 91.25}};
  EXPECT_EQ(row.to_value(), want);
  EXPECT_EQ(json_text{row.text()}, row);             // well-formed: reads back
  EXPECT_EQ(row.number("quote\\\"d\\u000a"), 91.25); // keys are matched as written
  EXPECT_EQ(json_text::object({}).text(), "{}");
}

TEST(json_text, of_a_key_written_twice_the_last_counts_as_in_serdes_json) {
  const std::string twice = R"({"action":"WITHDRAWAL","n":1,"action":15000.0,"n":"two"})";
  const json_text t{twice};
  const auto v = sluice::serdes::json{}.deserialize(twice);
  EXPECT_EQ(t.raw("action"), "15000.0");
  EXPECT_EQ(t.number("action"), v.at("action").to_number<double>());
  EXPECT_EQ(t.string("n"), "two");
  EXPECT_EQ(v.at("n").as_string(), "two");
  const auto [action, n] = t.raw_fields({"action", "n"});
  EXPECT_EQ(action, "15000.0");
  EXPECT_EQ(n, R"("two")");
}

TEST(json_text, to_value_reads_as_serdes_json_reads) {
  const json_text t{reading};
  EXPECT_EQ(t.to_value(), sluice::serdes::json{}.deserialize(reading));
}

TEST(json_text, values_live_as_long_as_a_copy_after_their_batch_arena_is_dropped) {
  std::vector<json_text> kept;
  {
    auto arena = sluice::make_json_arena(1 << 12);
    for (int i = 0; i < 500; ++i)
      kept.emplace_back(R"({"i":)" + std::to_string(i) + R"(,"pad":")" + std::string(100, 'x') + R"("})", arena);
  }
  for (int i = 0; i < 500; ++i)
    EXPECT_EQ(kept[static_cast<size_t>(i)].number("i"), i);
}
