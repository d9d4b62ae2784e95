#include <sluice/state/state_error.hpp>

namespace sluice {

std::string_view to_string(state_errc code) noexcept {
  switch (code) {
  case state_errc::io_error:
    return "io_error";
  case state_errc::corruption:
    return "corruption";
  case state_errc::locked:
    return "locked";
  case state_errc::invalid_argument:
    return "invalid_argument";
  case state_errc::not_found:
    return "not_found";
  }
  return "unknown";
}

} // namespace sluice
