#include "actors/errors.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace sluice {

caf::error to_caf_error(error e) {
  return {static_cast<uint8_t>(e.code), error_category, caf::make_message(std::move(e.message))};
}

void add_error_category(caf::actor_system_config& config) {
  config.add_error_category(error_category, [](uint8_t code, caf::atom_value, const caf::message& context) {
    const auto message = context.match_elements<std::string>() ? context.get_as<std::string>(0) : to_string(context);
    return to_string(error{static_cast<errc>(code), message});
  });
}

} // namespace sluice
