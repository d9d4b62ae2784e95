// sluice::error across actors: a caf::error of category "sluice" whose code is the errc and whose
// context is the message. Every error an actor quits or answers with is made here.
#pragma once

#include <sluice/error.hpp>

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>

#include <string>

namespace sluice {

/// The CAF error category of sluice's errors.
constexpr caf::atom_value error_category = caf::atom("sluice");

/// `e` as a caf::error of category "sluice".
caf::error to_caf_error(error e);

/// Registers the category's renderer with `config`: actor_system::render gives "<code>: <message>".
void add_error_category(caf::actor_system_config& config);

} // namespace sluice
