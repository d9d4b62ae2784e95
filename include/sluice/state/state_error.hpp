#pragma once
// Errors of the state layer as values. A tiny stand-in for std::expected (C++23): the
// runtime converts `state_error` into its `caf::error` at the actor boundary, one adapter.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace sluice {

/// What went wrong in a state store; stable, so callers can switch on it.
enum class state_errc : std::uint8_t {
  io_error = 1,     ///< The filesystem or LevelDB reported an I/O failure.
  corruption,       ///< Stored bytes are malformed (LevelDB corruption, bad encoding).
  locked,           ///< Another instance (or another open in this process) holds the lock.
  invalid_argument, ///< The call violates a documented precondition.
  not_found,        ///< A required file or directory does not exist.
};

/// Returns the snake_case name of code ("io_error", ...).
std::string_view to_string(state_errc code) noexcept;

/// An error code plus human context (paths, store names; never secrets).
struct state_error {
  state_errc code = state_errc::io_error; ///< Category, for programmatic handling.
  std::string message;                    ///< What failed and where, for logs.
};

/// Either a T or a state_error. Accessing the wrong alternative is a precondition violation.
template <class T>
class [[nodiscard]] result {
public:
  /// Holds a value.
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {} // NOLINT: implicit by design
  /// Holds an error.
  result(state_error error) : v_(std::in_place_index<1>, std::move(error)) {} // NOLINT
  /// True if a value is held.
  bool has_value() const noexcept { return v_.index() == 0; }
  /// True if a value is held.
  explicit operator bool() const noexcept { return has_value(); }
  /// The value; requires has_value().
  T& value() & { return std::get<0>(v_); }
  /// The value; requires has_value().
  const T& value() const& { return std::get<0>(v_); }
  /// The value, moved out; requires has_value().
  T&& value() && { return std::get<0>(std::move(v_)); }
  /// The value; requires has_value().
  T& operator*() & { return value(); }
  /// The value; requires has_value().
  T* operator->() { return &value(); }
  /// The error; requires !has_value().
  const state_error& error() const& { return std::get<1>(v_); }
  /// The error, moved out; requires !has_value().
  state_error&& error() && { return std::get<1>(std::move(v_)); }

private:
  std::variant<T, state_error> v_;
};

/// Success or a state_error.
template <>
class [[nodiscard]] result<void> {
public:
  /// Success.
  result() = default;
  /// Failure.
  result(state_error error) : error_(std::move(error)) {} // NOLINT: implicit by design
  /// True on success.
  bool has_value() const noexcept { return !error_.has_value(); }
  /// True on success.
  explicit operator bool() const noexcept { return has_value(); }
  /// The error; requires !has_value().
  const state_error& error() const& { return *error_; }
  /// The error, moved out; requires !has_value().
  state_error&& error() && { return std::move(*error_); }

private:
  std::optional<state_error> error_;
};

/// Shorthand for a successful result<void>.
inline result<void> ok() { return {}; }

} // namespace sluice
