#pragma once
// store_batch: an ordered list of puts and removes plus an optional changelog offset, applied
// by a store atomically (LevelDB: one WriteBatch). Encoded into one flat buffer, like LevelDB's
// WriteBatch, so a reused batch performs no heap allocation once its buffer has grown.

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

/// Position in a changelog topic partition (a Kafka offset).
using changelog_offset = std::int64_t;

/// Ordered puts/removes plus an optional checkpoint, applied all-or-nothing by a store.
class store_batch {
public:
  /// Appends "set key to value".
  void put(std::string_view key, std::string_view value) {
    append_op(op_put, key);
    append_bytes(value);
    ++count_;
  }
  /// Appends "delete key" (a tombstone).
  void remove(std::string_view key) {
    append_op(op_remove, key);
    ++count_;
  }
  /// Records the changelog offset that is committed together with the batch's data.
  void set_checkpoint(changelog_offset offset) noexcept { checkpoint_ = offset; }
  /// The checkpoint to commit with this batch, if any.
  std::optional<changelog_offset> checkpoint() const noexcept { return checkpoint_; }
  /// Number of put/remove operations.
  std::size_t size() const noexcept { return count_; }
  /// True if there are no operations and no checkpoint.
  bool empty() const noexcept { return count_ == 0 && !checkpoint_; }
  /// Bytes in the encoded buffer (keys, values, framing).
  std::size_t approximate_bytes() const noexcept { return rep_.size(); }
  /// Forgets all operations and the checkpoint; keeps the buffer's capacity.
  void clear() noexcept {
    rep_.clear();
    count_ = 0;
    checkpoint_.reset();
  }
  /// Calls f(key, std::optional<std::string_view> value) per operation in order; nullopt = remove.
  template <class F>
  void for_each(F&& f) const {
    std::size_t pos = 0;
    while (pos < rep_.size()) {
      const char op = rep_[pos++];
      std::string_view key = read_bytes(pos);
      if (op == op_put) {
        std::string_view value = read_bytes(pos);
        f(key, std::optional<std::string_view>{value});
      } else {
        f(key, std::optional<std::string_view>{});
      }
    }
  }

private:
  static constexpr char op_put = 'P';
  static constexpr char op_remove = 'D';

  void append_op(char op, std::string_view key) {
    rep_.push_back(op);
    append_bytes(key);
  }
  void append_bytes(std::string_view bytes) {
    const auto n = static_cast<std::uint32_t>(bytes.size());
    char len[sizeof n];
    std::memcpy(len, &n, sizeof n);
    rep_.append(len, sizeof n);
    rep_.append(bytes.data(), bytes.size());
  }
  std::string_view read_bytes(std::size_t& pos) const {
    std::uint32_t n = 0;
    std::memcpy(&n, rep_.data() + pos, sizeof n);
    pos += sizeof n;
    std::string_view bytes{rep_.data() + pos, n};
    pos += n;
    return bytes;
  }

  std::string rep_;
  std::size_t count_ = 0;
  std::optional<changelog_offset> checkpoint_;
};

} // namespace sluice
