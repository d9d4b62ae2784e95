#pragma once
// in_memory_store: a key_value_store over std::map, for tests and for stores that are rebuilt
// from their changelog on every start. Not persistent: a new instance starts empty.

#include <map>
#include <string>

#include <sluice/state/key_value_store.hpp>

namespace sluice {

/// std::map-backed key_value_store; writes and checkpoints are trivially atomic.
class in_memory_store final : public key_value_store {
public:
  /// Creates an empty store called name.
  explicit in_memory_store(std::string name);

  const std::string& name() const override { return name_; }
  expected<bool> get_into(std::string_view key, std::string& value) override;
  expected<void> put(std::string_view key, std::string_view value, std::int64_t timestamp_ms) override;
  expected<void> remove(std::string_view key, std::int64_t timestamp_ms) override;
  expected<void> write(const store_batch& batch) override;
  std::unique_ptr<kv_iterator> scan(const scan_bounds& bounds) override;
  expected<std::uint64_t> approximate_num_entries() override;
  expected<void> flush() override;
  std::optional<changelog_offset> checkpoint() const override { return checkpoint_; }

private:
  using map_type = std::map<std::string, std::string, std::less<>>;
  std::string name_;
  map_type map_;
  std::optional<changelog_offset> checkpoint_;
};

} // namespace sluice
