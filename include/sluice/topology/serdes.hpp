// Serdes: how keys and values become bytes and back.
//
// A serde is a class with `using value_type = T;`, `T deserialize(std::string_view bytes)`
// (throws on malformed input; the message becomes the dead-letter error) and
// `void serialize(const T& value, std::string& out)` (replaces `out`'s content). Each source and
// sink holds its own instance, so a serde may keep reusable buffers.
#pragma once

#include <sluice/topology/json_text.hpp>

#include <boost/json.hpp>

#include <concepts>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sluice {

/// True for types usable as serdes.
template <class S>
concept serde = std::default_initializable<S> &&
  requires(S s, std::string_view in, std::string& out, const typename S::value_type& v) {
  { s.deserialize(in) } -> std::convertible_to<typename S::value_type>;
  s.serialize(v, out);
};

namespace serdes {

/// UTF-8 or any bytes as std::string.
struct string {
  using value_type = std::string;
  std::string deserialize(std::string_view in) { return std::string{in}; }
  void serialize(const std::string& v, std::string& out) { out.assign(v); }
};

/// Opaque bytes; same representation as `string`, named for intent.
using bytes = string;

/// Big-endian 64-bit integer, as Kafka's LongSerializer writes it.
struct int64 {
  using value_type = int64_t;
  int64_t deserialize(std::string_view in);
  void serialize(int64_t v, std::string& out);
};

/// JSON text as boost::json::value (read by `parse_json`, written by `write_json`); empty input
/// (a Kafka null) is JSON null.
struct json {
  using value_type = boost::json::value;
  boost::json::value deserialize(std::string_view in);
  /// As `deserialize(in)`, allocating from `storage` (source operators pass their batch's json_arena).
  boost::json::value deserialize(std::string_view in, boost::json::storage_ptr storage);
  void serialize(const boost::json::value& v, std::string& out);
};

/// As `json`, but every number reads back with its kind: an integral double is written with a
/// fraction ("95.0", where `json` writes "95"). For internal topics whose readers tell 95.0 from
/// 95, as alert templates do.
struct typed_json : json {
  void serialize(const boost::json::value& v, std::string& out);
};

/// JSON text kept as text (sluice::json_text): checked well-formed, its fields read on demand;
/// written out byte for byte as it was read. Empty input (a Kafka null) is JSON null.
struct json_text {
  using value_type = sluice::json_text;
  sluice::json_text deserialize(std::string_view in) { return sluice::json_text{in}; }
  /// As `deserialize(in)`, the text copied into `storage` (source operators pass their batch's json_arena).
  sluice::json_text deserialize(std::string_view in, boost::json::storage_ptr storage) {
    return sluice::json_text{in, std::move(storage)};
  }
  void serialize(const sluice::json_text& v, std::string& out) { out.assign(v.text()); }
};

/// Parses one complete JSON text into a value allocated from `storage`; integers stay int64 or
/// uint64, every other number is the correctly rounded double (what std::from_chars reads);
/// throws std::invalid_argument ("malformed JSON: ...") on malformed input or trailing data.
boost::json::value parse_json(std::string_view text, boost::json::storage_ptr storage = {});

/// Appends `v` as compact JSON to `out`; doubles in shortest round-trip form ("97.5", not
/// "9.75E1"; negative zero "-0.0"), so `parse_json` reads back the same double (an integral one,
/// printed "95", as the integer whose `to_number<double>()` is that double).
void write_json(const boost::json::value& v, std::string& out);

} // namespace serdes
} // namespace sluice
