// Records and record batches: what flows between operators.
#pragma once

#include <sluice/topology/event_time.hpp>
#include <sluice/topology/record_origin.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

/// Where a record came from and when it happened; travels unchanged through stateless operators.
struct record_meta {
  int64_t timestamp = 0;              ///< event time in epoch milliseconds
  int64_t offset = -1;                ///< offset in the source partition, -1 if none
  int32_t partition = -1;             ///< source partition, -1 if none
  const std::string* topic = nullptr; ///< source topic (owned by the topology), null if none
};

/// A typed key-value record.
template <class K, class V>
struct record {
  K key;
  V value;
  record_meta meta;
};

/// Base of every batch; `credit` is shared by all batches derived from one consumed batch and
/// is released (returning flow-control credit) when the last of them is gone.
struct batch {
  virtual ~batch() = default;
  /// Its number of records.
  virtual size_t size() const = 0;
  std::shared_ptr<void> credit;
};

/// Shared, immutable once sent.
using batch_ptr = std::shared_ptr<batch>;

/// A batch of typed records.
template <class K, class V>
struct record_batch final : batch {
  std::vector<record<K, V>> records;
  size_t size() const override { return records.size(); }
};

/// A serialized record as consumed; `key`/`value` point into `raw_batch::storage`.
struct raw_record {
  std::string_view key;
  std::string_view value;
  record_meta meta;
  bool key_is_null = false;
  bool value_is_null = false;
  record_origin origin; ///< repartition topics: the writer's source position (the runtime strips it off the value)
};

/// A batch consumed from one source partition; `storage` keeps the records' bytes alive.
struct raw_batch final : batch {
  const std::string* topic = nullptr; ///< the source topic (owned by the runtime)
  int32_t partition = -1;             ///<
  int64_t next_offset = -1;           ///< the position after the batch (records and announcements)
  int64_t bytes = 0;                  ///< key and value bytes of the records (flow control)
  std::vector<raw_record> records;    ///< the data records, in offset order
  size_t size() const override { return records.size(); }
  /// Watermark announcements read among the records (repartition topics); they apply after them.
  std::vector<watermark_announcement> announcements;
  std::shared_ptr<void> storage;
};

/// Makes an empty typed batch that inherits `parent`'s flow-control credit.
template <class K, class V>
std::shared_ptr<record_batch<K, V>> make_batch_like(const batch& parent, size_t capacity) {
  auto out = std::make_shared<record_batch<K, V>>();
  out->credit = parent.credit;
  out->records.reserve(capacity);
  return out;
}

} // namespace sluice
