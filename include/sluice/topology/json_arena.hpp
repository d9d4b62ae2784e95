// json_arena: the memory of the JSON values parsed from one consumed batch.
#pragma once

#include <boost/json/storage_ptr.hpp>

#include <atomic>
#include <cstddef>
#include <mutex>

namespace sluice {

/// A Boost.JSON memory resource for the values of one batch: allocation is a bump of a pointer,
/// deallocation does nothing, and the memory is released at once when the last value using it is
/// gone (hold it through a `boost::json::storage_ptr` from `make_json_arena`).
/// Thread-safe: a batch's values may be copied on several threads at once (a batch forwarded to
/// two operators), and a copy of a value allocates from the same resource as the value.
class json_arena final : public boost::json::memory_resource {
public:
  /// `first_chunk`: bytes of the first block (rounded up to a power of two, 4 KiB to 1 MiB); each
  /// further block doubles, up to 1 MiB. Blocks come from and go back to a pool shared by every
  /// arena of the process (at most 8 MiB kept), so that batch after batch reuses the same pages.
  explicit json_arena(std::size_t first_chunk);
  ~json_arena() override;
  json_arena(const json_arena&) = delete;
  json_arena& operator=(const json_arena&) = delete;

private:
  struct chunk;
  void* do_allocate(std::size_t bytes, std::size_t align) override;
  void do_deallocate(void*, std::size_t, std::size_t) override {}
  bool do_is_equal(const boost::json::memory_resource& other) const noexcept override { return this == &other; }

  std::atomic<chunk*> head_{nullptr};
  std::mutex grow_;
  std::size_t next_size_;
};

/// A counted storage for the values parsed from a batch of about `input_bytes` of JSON text.
boost::json::storage_ptr make_json_arena(std::size_t input_bytes);

} // namespace sluice
