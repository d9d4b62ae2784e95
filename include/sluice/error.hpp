#pragma once
// sluice's one error type: a stable code plus a message with its context, returned as a value
// (`expected<T>`, a stand-in for C++23's std::expected) by the state stores and the connectors.
// The runtime carries it across actors as a `caf::error` of category "sluice" (src/actors/errors.hpp).

#include <cassert>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace sluice {

/// What went wrong; stable, so callers can switch on it. Each says whether retrying can help.
enum class errc : std::uint8_t {
  io_error = 1,       ///< The filesystem or LevelDB reported an I/O failure.
  corruption,         ///< Stored bytes are malformed (LevelDB corruption, bad encoding).
  locked,             ///< Another instance (or another open in this process) holds a state lock; retry later.
  invalid_argument,   ///< The call violates a documented precondition.
  not_found,          ///< A required file or directory does not exist.
  cancelled,          ///< request_stop() was called while the call was waiting or retrying.
  invalid_options,    ///< The options cannot work (missing table, bad template...); fix the configuration.
  query_failed,       ///< The database rejected the statement (unknown table or column, types...).
  attempts_exhausted, ///< Transient failures went on for max_attempts; the owner may retry later.
  template_error,     ///< A message template is malformed or names a field the record lacks.
  processing_failed,  ///< A processor (user code) or the runtime threw while processing records.
  kafka_failed,       ///< The Kafka client or broker cannot go on (fatal producer, failed transactions).
};

/// The snake_case name of `code` ("io_error", ...), for logs and dead-letter headers.
const char* to_string(errc code) noexcept;

/// An error code plus human context (paths, store names, the failing call; never secrets).
struct error {
  errc code = errc::io_error; ///< Category, for programmatic handling.
  std::string message;        ///< What failed and where, for logs.
};

/// "<code>: <message>", for logs and exceptions.
std::string to_string(const error& e);

/// Either a T or an error. Accessing the wrong alternative is a precondition violation.
template <class T>
class [[nodiscard]] expected {
public:
  /// Holds a value.
  expected(T value) : v_(std::in_place_index<0>, std::move(value)) {} // NOLINT: implicit by design
  /// Holds an error.
  expected(sluice::error e) : v_(std::in_place_index<1>, std::move(e)) {} // NOLINT: implicit by design
  /// True if a value is held.
  bool has_value() const noexcept { return v_.index() == 0; }
  /// True if a value is held.
  explicit operator bool() const noexcept { return has_value(); }
  /// The value; requires has_value().
  T& value() & { return checked(std::get_if<0>(&v_)); }
  /// The value; requires has_value().
  const T& value() const& { return checked(std::get_if<0>(&v_)); }
  /// The value, moved out; requires has_value().
  T&& value() && { return std::move(checked(std::get_if<0>(&v_))); }
  /// The value; requires has_value().
  T& operator*() & { return value(); }
  /// The value; requires has_value().
  const T& operator*() const& { return value(); }
  /// The value; requires has_value().
  T* operator->() { return &value(); }
  /// The value; requires has_value().
  const T* operator->() const { return &value(); }
  /// The error; requires !has_value().
  const sluice::error& error() const& { return checked(std::get_if<1>(&v_)); }
  /// The error, moved out; requires !has_value().
  sluice::error&& error() && { return std::move(checked(std::get_if<1>(&v_))); }

private:
  template <class U>
  static U& checked(U* alternative) {
    assert(alternative != nullptr);
    return *alternative;
  }
  template <class U>
  static const U& checked(const U* alternative) {
    assert(alternative != nullptr);
    return *alternative;
  }

  std::variant<T, sluice::error> v_;
};

/// Success or an error.
template <>
class [[nodiscard]] expected<void> {
public:
  /// Success.
  expected() = default;
  /// Failure.
  expected(sluice::error e) : error_(std::move(e)) {} // NOLINT: implicit by design
  /// True on success.
  bool has_value() const noexcept { return !error_.has_value(); }
  /// True on success.
  explicit operator bool() const noexcept { return has_value(); }
  /// The error; requires !has_value().
  const sluice::error& error() const& {
    assert(error_.has_value());
    return *error_;
  }
  /// The error, moved out; requires !has_value().
  sluice::error&& error() && {
    assert(error_.has_value());
    return std::move(*error_);
  }

private:
  std::optional<sluice::error> error_;
};

/// A successful expected<void>.
inline expected<void> ok() { return {}; }

} // namespace sluice
