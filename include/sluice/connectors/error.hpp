#pragma once
// Error values shared by the connectors (DESIGN §5: errors are values, never exceptions across the
// connector boundary). The actor layer maps connector_errc onto its own caf::error category.

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace sluice {

/// Why a connector call failed; every value says whether retrying the same call can help.
enum class connector_errc {
  cancelled,          ///< request_stop() was called while the call was waiting or retrying.
  invalid_options,    ///< The options cannot work (missing table, bad template…); fix config.
  query_failed,       ///< The database rejected the statement (unknown table/column, types…).
  attempts_exhausted, ///< Transient failures went on for max_attempts; the owner may retry later.
  template_error,     ///< A message template is malformed or names a field the record lacks.
};

/// Stable lower-case name of an error code, for logs and dead-letter headers.
const char* to_string(connector_errc code) noexcept;

/// An error value: a code plus a human message that never contains secrets.
struct connector_error {
  connector_errc code; ///< What kind of failure this is.
  std::string message; ///< Context for operators; secrets are already redacted.
};

/// Either a T or a connector_error (a small stand-in for std::expected, which C++20 lacks).
template <class T>
class connector_result {
public:
  /// Holds a value.
  connector_result(T value) : value_(std::move(value)) {}
  /// Holds an error.
  connector_result(connector_error error) : value_(std::move(error)) {}
  /// True when a value is held.
  bool has_value() const noexcept { return value_.index() == 0; }
  /// Same as has_value().
  explicit operator bool() const noexcept { return has_value(); }
  /// The value; precondition: has_value().
  T& value() & {
    assert(has_value());
    return std::get<0>(value_);
  }
  /// The value; precondition: has_value().
  const T& value() const& {
    assert(has_value());
    return std::get<0>(value_);
  }
  /// The value moved out; precondition: has_value().
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(value_));
  }
  /// The error; precondition: !has_value().
  const connector_error& error() const {
    assert(!has_value());
    return std::get<1>(value_);
  }
  /// Pointer-like access to the value; precondition: has_value().
  T* operator->() { return &value(); }
  /// Pointer-like access to the value; precondition: has_value().
  const T* operator->() const { return &value(); }
  /// The value; precondition: has_value().
  T& operator*() & { return value(); }
  /// The value; precondition: has_value().
  const T& operator*() const& { return value(); }

private:
  std::variant<T, connector_error> value_;
};

} // namespace sluice
