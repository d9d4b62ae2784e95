// sluice::error across actors: the caf::error it becomes keeps its code and message, and the
// actor system renders it as "<code>: <message>" once the category is registered.
#include "actors/errors.hpp"

#include <gtest/gtest.h>

#include <caf/all.hpp>

using namespace sluice;

TEST(errors, a_sluice_error_keeps_its_code_and_message_as_a_caf_error) {
  const auto e = to_caf_error({errc::locked, "state of task 0_1 is held by another instance"});
  EXPECT_EQ(e.category(), error_category);
  EXPECT_EQ(static_cast<errc>(e.code()), errc::locked);
  ASSERT_TRUE(e.context().match_elements<std::string>());
  EXPECT_EQ(e.context().get_as<std::string>(0), "state of task 0_1 is held by another instance");
}

TEST(errors, the_reason_an_actor_quit_with_is_rendered_with_its_code_and_message) {
  caf::actor_system_config config;
  add_error_category(config);
  caf::actor_system system{config};
  std::string rendered;
  {
    caf::scoped_actor self{system};
    // Spawned with an argument: CAF 0.17 dereferences a null argument tuple otherwise.
    auto failing = self->spawn(
      [](caf::event_based_actor* actor, const std::string& why) -> caf::behavior {
        return {[=](int) { actor->quit(to_caf_error({errc::kafka_failed, why})); }};
      },
      std::string{"the producer cannot go on"});
    self->monitor(failing);
    self->send(failing, 1);
    self->receive([&](const caf::down_msg& down) { rendered = system.render(down.reason); });
  }
  EXPECT_EQ(rendered, "kafka_failed: the producer cannot go on");
}

TEST(errors, every_code_has_a_name) {
  for (auto code = static_cast<int>(errc::io_error); code <= static_cast<int>(errc::kafka_failed); ++code)
    EXPECT_STRNE(to_string(static_cast<errc>(code)), "unknown") << code;
  EXPECT_EQ(to_string(error{errc::not_found, "no such directory /x"}), "not_found: no such directory /x");
}
