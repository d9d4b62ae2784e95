#include <sluice/error.hpp>

namespace sluice {

const char* to_string(errc code) noexcept {
  switch (code) {
  case errc::io_error:
    return "io_error";
  case errc::corruption:
    return "corruption";
  case errc::locked:
    return "locked";
  case errc::invalid_argument:
    return "invalid_argument";
  case errc::not_found:
    return "not_found";
  case errc::cancelled:
    return "cancelled";
  case errc::invalid_options:
    return "invalid_options";
  case errc::query_failed:
    return "query_failed";
  case errc::attempts_exhausted:
    return "attempts_exhausted";
  case errc::template_error:
    return "template_error";
  case errc::processing_failed:
    return "processing_failed";
  case errc::kafka_failed:
    return "kafka_failed";
  }
  return "unknown";
}

std::string to_string(const error& e) { return std::string{to_string(e.code)} + ": " + e.message; }

} // namespace sluice
