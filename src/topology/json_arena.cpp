#include <sluice/topology/json_arena.hpp>

#include <algorithm>
#include <cstdint>
#include <new>

namespace sluice {

struct json_arena::chunk {
  chunk* next;
  std::size_t size;
  std::atomic<std::size_t> used{0};
  char* data() { return reinterpret_cast<char*>(this + 1); }
};

namespace {
constexpr std::size_t largest_chunk = 1 << 20;
}

json_arena::json_arena(std::size_t first_chunk)
    : next_size_(std::clamp<std::size_t>(first_chunk, 256, largest_chunk)) {}

json_arena::~json_arena() {
  for (auto* c = head_.load(std::memory_order_relaxed); c;) {
    auto* next = c->next;
    c->~chunk();
    ::operator delete(static_cast<void*>(c));
    c = next;
  }
}

void* json_arena::do_allocate(std::size_t bytes, std::size_t align) {
  const std::size_t reserve = bytes + align - 1; // room to align within the reservation
  for (;;) {
    chunk* c = head_.load(std::memory_order_acquire);
    if (c) {
      const auto at = c->used.fetch_add(reserve, std::memory_order_relaxed);
      if (at + reserve <= c->size) {
        auto p = reinterpret_cast<std::uintptr_t>(c->data() + at);
        return reinterpret_cast<void*>((p + align - 1) & ~(std::uintptr_t{align} - 1));
      }
    }
    std::lock_guard lock{grow_};
    if (head_.load(std::memory_order_relaxed) != c)
      continue; // another thread added a block meanwhile
    const auto size = std::max(next_size_, reserve);
    next_size_ = std::min(next_size_ * 2, largest_chunk);
    auto* fresh = new (::operator new(sizeof(chunk) + size)) chunk{c, size};
    head_.store(fresh, std::memory_order_release);
  }
}

boost::json::storage_ptr make_json_arena(std::size_t input_bytes) {
  // A parsed document takes about twice to three times its text.
  return boost::json::make_shared_resource<json_arena>(std::max<std::size_t>(4096, 3 * input_bytes));
}

} // namespace sluice
