// What a crashing process leaves behind: the signal and the stack on stderr.
#pragma once

namespace sluice {

/// Installs handlers for SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT that write the signal, the
/// faulting address and the calling thread's stack (one line per frame: binary, symbol or offset,
/// address; resolve offsets with `addr2line -f -C -e <binary>`) to stderr, then end the process
/// with the same signal, so that exit status and core dump are as without it. A signal that already
/// has a handler (a sanitizer's, the application's) keeps it. Idempotent.
void install_crash_report();

} // namespace sluice
