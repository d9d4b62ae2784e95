#include "state/in_memory_store.hpp"

namespace sluice {

namespace {

class map_iterator final : public kv_iterator {
public:
  using iter = std::map<std::string, std::string, std::less<>>::const_iterator;
  map_iterator(iter begin, iter end) : it_(begin), end_(end) {}
  bool valid() const override { return it_ != end_; }
  void next() override { ++it_; }
  std::string_view key() const override { return it_->first; }
  std::string_view value() const override { return it_->second; }
  std::optional<error> status() const override { return std::nullopt; }

private:
  iter it_;
  iter end_;
};

} // namespace

in_memory_store::in_memory_store(std::string name) : name_(std::move(name)) {}

expected<bool> in_memory_store::get_into(std::string_view key, std::string& value) {
  auto it = map_.find(key);
  if (it == map_.end())
    return false;
  value.assign(it->second);
  return true;
}

expected<void> in_memory_store::put(std::string_view key, std::string_view value, std::int64_t) {
  auto it = map_.lower_bound(key);
  if (it != map_.end() && it->first == key)
    it->second.assign(value); // reuses the value's capacity
  else
    map_.emplace_hint(it, std::string{key}, std::string{value});
  return ok();
}

expected<void> in_memory_store::remove(std::string_view key, std::int64_t) {
  if (auto it = map_.find(key); it != map_.end())
    map_.erase(it);
  return ok();
}

expected<void> in_memory_store::write(const store_batch& batch) {
  batch.for_each([this](std::string_view key, std::optional<std::string_view> value) {
    if (value)
      (void)put(key, *value, 0);
    else
      (void)remove(key, 0);
  });
  if (batch.checkpoint())
    checkpoint_ = batch.checkpoint();
  return ok();
}

std::unique_ptr<kv_iterator> in_memory_store::scan(const scan_bounds& bounds) {
  auto begin = map_.lower_bound(bounds.from);
  auto end = map_.end();
  if (bounds.to) {
    if (bounds.from > *bounds.to || (bounds.from == *bounds.to && !bounds.to_inclusive))
      return std::make_unique<map_iterator>(end, end);
    end = bounds.to_inclusive ? map_.upper_bound(*bounds.to) : map_.lower_bound(*bounds.to);
  }
  return std::make_unique<map_iterator>(begin, end);
}

expected<std::uint64_t> in_memory_store::approximate_num_entries() { return static_cast<std::uint64_t>(map_.size()); }

expected<void> in_memory_store::flush() { return ok(); }

} // namespace sluice
