// install_crash_report: a crash leaves its signal and stack on stderr and still ends the process
// with that signal; a handler that was there first is left alone.
#include "actors/crash_report.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <unistd.h>

namespace {

void crash_with(int sig) {
  sluice::install_crash_report();
  std::raise(sig);
}

void own_handler(int) {
  constexpr char text[] = "the application's own handler\n";
  [[maybe_unused]] auto n = ::write(STDERR_FILENO, text, sizeof text - 1);
  ::_exit(3);
}

} // namespace

TEST(crash_report, a_crash_writes_its_signal_and_stack_and_ends_with_that_signal) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(crash_with(SIGILL), testing::KilledBySignal(SIGILL),
              "sluice: fatal signal 4 \\(SIGILL\\) in thread [0-9]+; stack:\n.*\\[0x[0-9a-f]+\\]");
  EXPECT_EXIT(crash_with(SIGABRT), testing::KilledBySignal(SIGABRT), "fatal signal 6 \\(SIGABRT\\) in thread");
}

TEST(crash_report, a_signal_the_application_handles_keeps_its_handler) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
    {
      std::signal(SIGBUS, own_handler);
      crash_with(SIGBUS);
    },
    testing::ExitedWithCode(3), "the application's own handler");
}
