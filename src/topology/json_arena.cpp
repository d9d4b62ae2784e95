#include <sluice/topology/json_arena.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <mutex>
#include <new>
#include <vector>

namespace sluice {

// A chunk's header sits at the start of its block; the block's bytes are a power of two between
// smallest_block and largest_block (pooled), or whatever one oversized allocation needs (not pooled).
struct json_arena::chunk {
  chunk* next;
  std::size_t size; // usable bytes after the header
  std::size_t block_bytes;
  std::atomic<std::size_t> used{0};
  char* data() { return reinterpret_cast<char*>(this + 1); }
};

namespace {

constexpr std::size_t smallest_block = std::size_t{1} << 12;
constexpr std::size_t largest_block = std::size_t{1} << 20;
constexpr std::size_t block_classes = 9; // 4 KiB .. 1 MiB
// Blocks kept for reuse, all sizes together. Returning a batch's blocks to the allocator made glibc
// give the pages back to the kernel at once (heap trimming) and take them again, zero-filled, for
// the next batch: a page fault per 4 KiB, about a seventh of the operators' time.
constexpr std::size_t pooled_bytes_max = std::size_t{8} << 20;

bool poolable(std::size_t block_bytes) {
  return std::has_single_bit(block_bytes) && block_bytes >= smallest_block && block_bytes <= largest_block;
}

std::size_t class_of(std::size_t block_bytes) {
  return static_cast<std::size_t>(std::countr_zero(block_bytes) - std::countr_zero(smallest_block));
}

// Freed blocks by size class, shared by every arena of the process.
class block_pool {
public:
  void* take(std::size_t block_bytes) {
    if (poolable(block_bytes)) {
      std::lock_guard lock{mutex_};
      auto& free = free_[class_of(block_bytes)];
      if (!free.empty()) {
        void* block = free.back();
        free.pop_back();
        pooled_ -= block_bytes;
        return block;
      }
    }
    return ::operator new(block_bytes);
  }

  void give_back(void* block, std::size_t block_bytes) {
    if (poolable(block_bytes)) {
      std::lock_guard lock{mutex_};
      if (pooled_ + block_bytes <= pooled_bytes_max) {
        free_[class_of(block_bytes)].push_back(block);
        pooled_ += block_bytes;
        return;
      }
    }
    ::operator delete(block);
  }

private:
  std::mutex mutex_;
  std::array<std::vector<void*>, block_classes> free_;
  std::size_t pooled_ = 0;
};

block_pool& pool() {
  static auto* p = new block_pool; // never destroyed: arenas may die during static destruction
  return *p;
}

} // namespace

json_arena::json_arena(std::size_t first_chunk)
    : next_size_(std::bit_ceil(std::clamp(first_chunk + sizeof(chunk), smallest_block, largest_block))) {}

json_arena::~json_arena() {
  for (auto* c = head_.load(std::memory_order_relaxed); c;) {
    auto* next = c->next;
    const auto block_bytes = c->block_bytes;
    c->~chunk();
    pool().give_back(c, block_bytes);
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
    const auto block_bytes = std::max(next_size_, sizeof(chunk) + reserve);
    next_size_ = std::min(next_size_ * 2, largest_block);
    auto* fresh = new (pool().take(block_bytes)) chunk{c, block_bytes - sizeof(chunk), block_bytes};
    head_.store(fresh, std::memory_order_release);
  }
}

boost::json::storage_ptr make_json_arena(std::size_t input_bytes) {
  // A parsed document takes about twice to three times its text.
  return boost::json::make_shared_resource<json_arena>(3 * input_bytes);
}

} // namespace sluice
