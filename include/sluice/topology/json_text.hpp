// json_text: a JSON value kept as its text, its fields read from the text on demand.
#pragma once

#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace sluice {

/// A JSON value kept as its text: checked well-formed when made from outside input, never built
/// into a document. Top-level fields of an object are read from the text when asked for
/// (simdjson's On-Demand parser), and new objects are written from fields' text, so a value that
/// passes through unchanged comes out byte for byte and a filter or a projection costs a fraction
/// of a `boost::json::value` (bench/README.md, sluice-bench-serdes). Field names are matched
/// against keys as written (a key spelled with escapes is not unescaped); of a key written twice,
/// the last counts, as in serdes::json. `to_value()` parses it where a whole document is needed.
/// Copies share the text; immutable.
class json_text {
public:
  /// `null`.
  json_text();

  /// Checks that `text` is one well-formed JSON value (empty text, a Kafka null, is `null`) and
  /// keeps a copy allocated from `storage` (a batch's json_arena; by default a block of its own).
  /// Throws std::invalid_argument ("malformed JSON: ...").
  explicit json_text(std::string_view text, boost::json::storage_ptr storage = {});

  /// The object of `fields`, in that order: each a name and the JSON text of its value, as
  /// `raw` gives it (the text is not checked again). Allocated from `storage`.
  static json_text object(std::initializer_list<std::pair<std::string_view, std::string_view>> fields,
                          boost::json::storage_ptr storage = {});

  /// Its JSON text.
  std::string_view text() const { return text_; }

  /// The JSON text of top-level field `name` as written (`12.5`, `"a\"b"`, `[1,2]`); nullopt if
  /// absent. Throws std::invalid_argument if this is no object.
  std::optional<std::string_view> find(std::string_view name) const;

  /// As `find`, but throws std::out_of_range ("no field 'name'") if absent.
  std::string_view raw(std::string_view name) const;

  /// The JSON text of each field of `names`, read in one pass; throws as `raw` for the first absent.
  template <std::size_t N>
  std::array<std::string_view, N> raw_fields(const std::string_view (&names)[N]) const {
    std::array<std::string_view, N> out;
    scan(names, out);
    for (std::size_t i = 0; i < N; ++i)
      if (out[i].data() == nullptr)
        absent(names[i]);
    return out;
  }

  /// The number in field `name`, correctly rounded to a double; throws std::out_of_range if
  /// absent, std::invalid_argument if it is no number.
  double number(std::string_view name) const;

  /// The string in field `name`, unescaped; throws as `number` if absent or no string.
  std::string string(std::string_view name) const;

  /// The value as a boost::json::value, allocated from this text's storage (serdes::parse_json).
  boost::json::value to_value() const;

  /// The storage its text lives in; objects made from its fields can share it.
  const boost::json::storage_ptr& storage() const { return storage_; }

  /// Same text.
  bool operator==(const json_text& other) const { return text_ == other.text_; }

private:
  struct checked {};
  json_text(checked, std::string_view text, boost::json::storage_ptr storage);
  /// Sets out[i] to the text of field names[i] (data() null where absent), in one pass.
  void scan(std::span<const std::string_view> names, std::span<std::string_view> out) const;
  [[noreturn]] static void absent(std::string_view name);

  boost::json::storage_ptr storage_;
  std::string_view text_; // followed by readable padding, as simdjson needs
};

} // namespace sluice
