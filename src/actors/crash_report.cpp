#include "actors/crash_report.hpp"

#include <array>
#include <csignal>
#include <cstdint>
#include <execinfo.h>
#include <string_view>
#include <unistd.h>

namespace sluice {

namespace {

constexpr std::array<std::pair<int, std::string_view>, 5> fatal_signals{{
  {SIGSEGV, "SIGSEGV"},
  {SIGBUS, "SIGBUS"},
  {SIGFPE, "SIGFPE"},
  {SIGILL, "SIGILL"},
  {SIGABRT, "SIGABRT"},
}};

// Only async-signal-safe calls from here on: write(2), backtrace_symbols_fd, raise.
void put(std::string_view text) { [[maybe_unused]] auto n = ::write(STDERR_FILENO, text.data(), text.size()); }

void put_number(std::uintptr_t value, unsigned base) {
  char digits[32];
  char* end = digits + sizeof digits;
  char* at = end;
  do {
    *--at = "0123456789abcdef"[value % base];
    value /= base;
  } while (value != 0);
  put({at, static_cast<std::size_t>(end - at)});
}

void on_fatal_signal(int sig, siginfo_t* info, void*) {
  put("\nsluice: fatal signal ");
  put_number(static_cast<std::uintptr_t>(sig), 10);
  for (const auto& [number, name] : fatal_signals)
    if (number == sig) {
      put(" (");
      put(name);
      put(")");
    }
  if (info != nullptr && info->si_code > 0) { // raised by the kernel (a fault), not sent
    put(" at address 0x");
    put_number(reinterpret_cast<std::uintptr_t>(info->si_addr), 16);
  }
  put(" in thread ");
  put_number(static_cast<std::uintptr_t>(::gettid()), 10);
  put("; stack:\n");
  void* frames[64];
  backtrace_symbols_fd(frames, backtrace(frames, 64), STDERR_FILENO);
  // SA_RESETHAND restored the default action: the signal ends the process as it would have.
  ::raise(sig);
}

} // namespace

void install_crash_report() {
  void* warm_up[1];
  backtrace(warm_up, 1); // loads the unwinder now: the first call may allocate, not allowed in a handler
  for (const auto& [sig, name] : fatal_signals) {
    struct sigaction current {};
    if (sigaction(sig, nullptr, &current) != 0 || current.sa_handler != SIG_DFL)
      continue; // someone else handles it (or it is ignored)
    struct sigaction action {};
    action.sa_sigaction = on_fatal_signal;
    action.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    sigaction(sig, &action, nullptr);
  }
}

} // namespace sluice
