// Counts heap allocations (operator new) while a function runs. Replaces the global operator
// new and delete: include it in exactly one source file of a test executable.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

// GCC 12 flags free() on memory from the replaced operator new below as mismatched; both sides
// of the pair are ours and use malloc/free, so the warning is a false positive here.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace sluice::test::detail {
inline std::atomic<bool> counting{false};
inline std::atomic<std::size_t> allocations{0};
} // namespace sluice::test::detail

void* operator new(std::size_t n) {
  if (sluice::test::detail::counting.load(std::memory_order_relaxed))
    sluice::test::detail::allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n))
    return p;
  throw std::bad_alloc{};
}
// The nothrow form too (libsimdjson allocates with it): whatever reaches the delete above must
// come from malloc, or AddressSanitizer reports a mismatch.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  if (sluice::test::detail::counting.load(std::memory_order_relaxed))
    sluice::test::detail::allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace sluice::test {

/// The number of operator new calls (any thread) while `f` runs.
template <class F>
std::size_t count_allocations(F&& f) {
  detail::allocations = 0;
  detail::counting = true;
  f();
  detail::counting = false;
  return detail::allocations.load();
}

} // namespace sluice::test
