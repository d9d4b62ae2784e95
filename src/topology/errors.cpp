#include <sluice/topology/errors.hpp>

namespace sluice {

exception_handler parse_exception_handler(const std::string& name) {
  if (name == "log_and_continue")
    return exception_handler::log_and_continue;
  if (name == "log_and_fail")
    return exception_handler::log_and_fail;
  throw std::invalid_argument("unknown exception handler '" + name + "' (log_and_continue or log_and_fail)");
}

} // namespace sluice
