#include <sluice/state/key_value_store.hpp>

namespace sluice {

std::optional<std::string> prefix_successor(std::string_view prefix) {
  std::string s{prefix};
  while (!s.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(s.back());
    if (last != 0xff) {
      ++last;
      return s;
    }
    s.pop_back();
  }
  return std::nullopt;
}

expected<std::optional<std::string>> key_value_store::get(std::string_view key) {
  std::string value;
  auto found = get_into(key, value);
  if (!found)
    return std::move(found).error();
  if (!*found)
    return std::optional<std::string>{};
  return std::optional<std::string>{std::move(value)};
}

std::unique_ptr<kv_iterator> key_value_store::range(std::string_view from, std::string_view to) {
  return scan(scan_bounds{from, to, true});
}

std::unique_ptr<kv_iterator> key_value_store::prefix_scan(std::string_view prefix) {
  auto upper = prefix_successor(prefix);
  if (!upper)
    return scan(scan_bounds{prefix, std::nullopt, true});
  // The iterator implementations copy their bounds, so a temporary upper bound is fine.
  return scan(scan_bounds{prefix, std::string_view{*upper}, false});
}

std::unique_ptr<kv_iterator> key_value_store::all() { return scan(scan_bounds{}); }

expected<void> key_value_store::commit_checkpoint(changelog_offset offset) {
  store_batch batch;
  batch.set_checkpoint(offset);
  return write(batch);
}

expected<void> key_value_store::restore(std::span<const changelog_record> records, changelog_offset last_offset) {
  store_batch batch;
  for (const auto& r : records) {
    if (r.value)
      batch.put(r.key, *r.value);
    else
      batch.remove(r.key);
  }
  batch.set_checkpoint(last_offset);
  return write(batch);
}

} // namespace sluice
