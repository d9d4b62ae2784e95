#include <sluice/connectors/error.hpp>

namespace sluice {

const char* to_string(connector_errc code) noexcept {
  switch (code) {
  case connector_errc::cancelled:
    return "cancelled";
  case connector_errc::invalid_options:
    return "invalid_options";
  case connector_errc::query_failed:
    return "query_failed";
  case connector_errc::attempts_exhausted:
    return "attempts_exhausted";
  case connector_errc::template_error:
    return "template_error";
  }
  return "unknown";
}

} // namespace sluice
