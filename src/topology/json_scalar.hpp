// Reading the text of one JSON field as a value. Internal.
#pragma once

#include <boost/json/value.hpp>

#include <string_view>

namespace sluice::detail {

/// The value of `text`, one well-formed JSON value: a number read with std::from_chars, without
/// allocating (an integer as int64 or uint64, any other correctly rounded to a double), anything
/// else as serdes::parse_json reads it.
boost::json::value parse_json_scalar(std::string_view text);

} // namespace sluice::detail
