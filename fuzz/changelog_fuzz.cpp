// Changelog and checkpoint decoding, as a restore reads them: a store checkpoint value decodes
// only from its 8 bytes and encodes back to them; a window changelog key splits into key and
// window start and encodes back to itself; a run of window changelog records (the input, see
// `records_of`), restored in two batches, leaves a window store holding exactly the last value
// of every window not expired, fetched one by one and all together in (start, key) order.
#include "fuzz_check.hpp"

#include "state/cache_budget.hpp"
#include "state/in_memory_store.hpp"
#include "state/leveldb_store.hpp"
#include <sluice/state/window_store.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <vector>

using namespace sluice;
using sluice::fuzz::check;

namespace {

// Changelog records from `in`: each is a byte h (key length h & 0x3f, a tombstone if h & 0x80),
// the key, and unless a tombstone a length byte and the value; stops where the input runs out.
std::vector<changelog_record> records_of(std::string_view in) {
  std::vector<changelog_record> out;
  while (!in.empty()) {
    const auto h = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    const size_t key_size = h & 0x3f;
    if (in.size() < key_size)
      break;
    changelog_record r{in.substr(0, key_size), std::nullopt};
    in.remove_prefix(key_size);
    if (!(h & 0x80)) {
      if (in.empty())
        break;
      const size_t value_size = std::min<size_t>(static_cast<unsigned char>(in.front()), in.size() - 1);
      r.value = in.substr(1, value_size);
      in.remove_prefix(1 + value_size);
    }
    out.push_back(r);
  }
  return out;
}

void check_codecs(std::string_view in) {
  const auto checkpoint = detail::decode_checkpoint(in);
  check(checkpoint.has_value() == (in.size() == 8), "a checkpoint is 8 bytes", in);
  if (checkpoint)
    check(detail::encode_checkpoint(*checkpoint) == in, "a checkpoint encodes back to its bytes", in);

  const auto key = window_store::decode_changelog_key(in);
  check(key.has_value() == (in.size() >= 8), "a window changelog key has 8 bytes of window start", in);
  if (key) {
    std::string encoded;
    window_store::encode_changelog_key(key->first, key->second, encoded);
    check(encoded == in, "a window changelog key encodes back to itself", in);
  }
}

void check_restore(std::string_view in) {
  if (in.empty())
    return;
  // The first byte picks the options: retention and whether there is a write-back cache.
  static constexpr int64_t retentions[] = {0, 1, 1000, int64_t{1} << 40};
  window_store_options options;
  options.retention_ms = retentions[in.front() & 3];
  if (in.front() & 4)
    options.cache = std::make_shared<cache_budget>(1 << 16);
  in.remove_prefix(1);

  auto opened = window_store::open(std::make_unique<in_memory_store>("windows"), options);
  check(opened.has_value(), "a window store opens on an empty in-memory store");
  auto& store = *opened.value();
  const auto records = records_of(in);
  std::map<std::pair<int64_t, std::string>, std::string> model; // (start, key) -> value
  for (const auto& r : records) {
    const auto key = window_store::decode_changelog_key(r.key);
    if (!key)
      break;
    const std::pair window{key->second, std::string{key->first}};
    if (r.value)
      model[window] = std::string{*r.value};
    else
      model.erase(window);
  }
  // Restored in two batches, as a restore consumes the changelog.
  const std::span all{records};
  for (const auto batch : {all.first(all.size() / 2), all.subspan(all.size() / 2)}) {
    const bool well_formed = std::all_of(batch.begin(), batch.end(), [](const auto& r) { return r.key.size() >= 8; });
    const auto restored = store.restore(batch, static_cast<changelog_offset>(batch.data() - all.data() + batch.size()));
    if (!well_formed) {
      check(!restored.has_value() && restored.error().code == errc::invalid_argument,
            "a changelog key shorter than 8 bytes fails the restore", in);
      return;
    }
    check(restored.has_value(), "well-formed changelog records restore", in);
  }
  check(store.checkpoint() == static_cast<changelog_offset>(records.size()), "restore commits its checkpoint", in);

  // What is left: every window at or after the expiry cutoff, with its last value.
  const auto cutoff = store.expiry_cutoff();
  std::erase_if(model, [&](const auto& w) { return cutoff && w.first.first < *cutoff; });
  std::string value;
  for (const auto& [window, expected] : model) {
    const auto found = store.fetch_into(window.second, window.first, value);
    check(found.has_value() && found.value() && value == expected, "a restored window holds its last value", in);
  }
  auto it = store.fetch_all(std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
  auto expected = model.begin();
  for (; it->valid(); it->next(), ++expected) {
    check(expected != model.end(), "fetch_all yields only restored windows", in);
    check(it->window_start() == expected->first.first && it->key() == expected->first.second &&
            it->value() == expected->second,
          "fetch_all yields the restored windows in (start, key) order", in);
  }
  check(!it->status() && expected == model.end(), "fetch_all yields every restored window", in);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto in = fuzz::text_of(data, size);
  check_codecs(in);
  check_restore(in);
  return 0;
}
