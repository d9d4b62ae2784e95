#include "state/leveldb_store.hpp"

#include <sluice/state/big_endian.hpp>

#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/env.h>
#include <leveldb/filter_policy.h>
#include <leveldb/iterator.h>
#include <leveldb/write_batch.h>
#include <spdlog/spdlog.h>

#include <cstdarg>
#include <cstdio>
#include <system_error>

namespace sluice {

namespace {

constexpr char meta_prefix = '\x00';
constexpr char data_prefix = '\x01';
// The reserved internal key holding the changelog offset committed with the data.
constexpr std::string_view checkpoint_key{"\x00"
                                          "checkpoint",
                                          11};
static_assert(checkpoint_key[0] == meta_prefix && meta_prefix < data_prefix);

// Adapter: LevelDB status -> error, with the store's path as context.
error from_status(const leveldb::Status& s, std::string_view what, const std::filesystem::path& path) {
  errc code = errc::io_error;
  if (s.IsCorruption())
    code = errc::corruption;
  else if (s.IsNotFound())
    code = errc::not_found;
  else if (s.IsInvalidArgument())
    code = errc::invalid_argument;
  return {code, std::string{what} + " " + path.string() + ": " + s.ToString()};
}

// LevelDB reports a held LOCK file as an IOError "lock <path>/LOCK: ...". Wiping then would
// destroy a store some other owner is using, so it is the one open failure we never repair.
bool is_lock_error(const leveldb::Status& s) {
  return s.IsIOError() && s.ToString().find("IO error: lock ") != std::string::npos;
}

// Routes LevelDB's info log to spdlog (debug) instead of a LOG file per store: one descriptor
// and one file less per store, and one place to read logs.
class spdlog_leveldb_logger final : public leveldb::Logger {
public:
  explicit spdlog_leveldb_logger(std::string name) : name_(std::move(name)) {}
  void Logv(const char* format, std::va_list ap) override {
    if (!spdlog::should_log(spdlog::level::debug))
      return;
    char buf[512];
    std::vsnprintf(buf, sizeof buf, format, ap);
    spdlog::debug("leveldb[{}]: {}", name_, buf);
  }

private:
  std::string name_;
};

class leveldb_iterator final : public kv_iterator {
public:
  leveldb_iterator(std::unique_ptr<leveldb::Iterator> it, const scan_bounds& bounds, std::filesystem::path path)
      : it_(std::move(it)), to_inclusive_(bounds.to_inclusive), path_(std::move(path)) {
    std::string from;
    from.reserve(bounds.from.size() + 1);
    from.push_back(data_prefix);
    from.append(bounds.from);
    if (bounds.to) {
      to_.emplace();
      to_->push_back(data_prefix);
      to_->append(*bounds.to);
    }
    it_->Seek(from);
    settle();
  }
  bool valid() const override { return valid_; }
  void next() override {
    it_->Next();
    settle();
  }
  std::string_view key() const override {
    auto k = it_->key();
    return {k.data() + 1, k.size() - 1};
  }
  std::string_view value() const override {
    auto v = it_->value();
    return {v.data(), v.size()};
  }
  std::optional<error> status() const override {
    auto s = it_->status();
    if (s.ok())
      return std::nullopt;
    return from_status(s, "iterate", path_);
  }

private:
  void settle() {
    valid_ = false;
    if (!it_->Valid())
      return;
    auto k = it_->key();
    if (k.size() == 0 || k[0] != data_prefix)
      return;
    if (to_) {
      int c = k.compare(leveldb::Slice{*to_});
      if (c > 0 || (c == 0 && !to_inclusive_))
        return;
    }
    valid_ = true;
  }

  std::unique_ptr<leveldb::Iterator> it_;
  std::optional<std::string> to_;
  bool to_inclusive_;
  bool valid_ = false;
  std::filesystem::path path_;
};

class empty_iterator final : public kv_iterator {
public:
  bool valid() const override { return false; }
  void next() override {}
  std::string_view key() const override { return {}; }
  std::string_view value() const override { return {}; }
  std::optional<error> status() const override { return std::nullopt; }
};

// Every write: no fsync. Durability across machine crashes comes from the changelog topic;
// syncing per write would cap a store at a few thousand writes per second.
leveldb::WriteOptions write_options() {
  leveldb::WriteOptions wo;
  wo.sync = false;
  return wo;
}

} // namespace

namespace detail {

std::string encode_checkpoint(changelog_offset offset) {
  std::string out;
  big_endian::append_i64(out, offset);
  return out;
}

std::optional<changelog_offset> decode_checkpoint(std::string_view bytes) {
  if (bytes.size() != 8)
    return std::nullopt;
  return big_endian::read_i64(bytes);
}

} // namespace detail

leveldb_store::leveldb_store(std::filesystem::path path, std::string name, leveldb_store_options options)
    : path_(std::move(path)), name_(std::move(name)), options_(std::move(options)),
      write_batch_(std::make_unique<leveldb::WriteBatch>()) {
  if (options_.bloom_bits_per_key > 0)
    filter_policy_.reset(leveldb::NewBloomFilterPolicy(options_.bloom_bits_per_key));
  logger_ = std::make_unique<spdlog_leveldb_logger>(name_);
}

leveldb_store::~leveldb_store() = default;

expected<void> leveldb_store::open_db() {
  leveldb::Options o;
  o.create_if_missing = true;
  o.paranoid_checks = options_.paranoid_checks;
  o.write_buffer_size = options_.write_buffer_size;
  o.block_cache = options_.block_cache.get();
  o.block_size = options_.block_size;
  o.max_open_files = options_.max_open_files;
  o.filter_policy = filter_policy_.get();
  o.info_log = logger_.get();
  if (options_.env)
    o.env = options_.env;
  leveldb::DB* raw = nullptr;
  auto s = leveldb::DB::Open(o, path_.string(), &raw);
  if (!s.ok()) {
    auto err = from_status(s, "open leveldb store", path_);
    if (is_lock_error(s))
      err.code = errc::locked;
    return err;
  }
  db_.reset(raw);
  std::string value;
  s = db_->Get(leveldb::ReadOptions{}, leveldb::Slice{checkpoint_key.data(), checkpoint_key.size()}, &value);
  if (s.ok()) {
    checkpoint_ = detail::decode_checkpoint(value);
    if (!checkpoint_) {
      db_.reset();
      return error{errc::corruption, "bad checkpoint encoding in " + path_.string()};
    }
  } else if (!s.IsNotFound()) {
    db_.reset();
    return from_status(s, "read checkpoint", path_);
  }
  return ok();
}

expected<opened_leveldb_store> leveldb_store::open(const std::filesystem::path& path, std::string name,
                                                   leveldb_store_options options) {
  leveldb::Env* env = options.env ? options.env : leveldb::Env::Default();
  const bool existed = env->FileExists((path / "CURRENT").string());
  if (!options.env) {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec)
      return error{errc::io_error, "create store directory " + path.string() + ": " + ec.message()};
  }
  std::unique_ptr<leveldb_store> store{new leveldb_store(path, std::move(name), std::move(options))};
  opened_leveldb_store out;
  out.outcome = existed ? open_outcome::opened_existing : open_outcome::created_empty;
  if (auto r = store->open_db(); !r) {
    if (r.error().code == errc::locked)
      return std::move(r).error();
    out.outcome = open_outcome::wiped_corrupt;
    out.reason = r.error().message;
    spdlog::warn("state store '{}' at {} cannot be opened ({}); wiping it, it will be restored "
                 "from its changelog",
                 store->name_, path.string(), out.reason);
    leveldb::Options o;
    o.env = env;
    (void)leveldb::DestroyDB(path.string(), o); // removes LevelDB's files through env
    if (!store->options_.env) {
      // Also remove files LevelDB does not recognise (garbage, partial copies).
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
      std::filesystem::create_directories(path, ec);
    }
    store->checkpoint_.reset();
    if (auto again = store->open_db(); !again)
      return std::move(again).error();
  }
  out.store = std::move(store);
  return out;
}

const std::string& leveldb_store::data_key(std::string_view key) {
  key_buffer_.clear();
  key_buffer_.push_back(data_prefix);
  key_buffer_.append(key);
  return key_buffer_;
}

expected<bool> leveldb_store::get_into(std::string_view key, std::string& value) {
  auto s = db_->Get(leveldb::ReadOptions{}, data_key(key), &value);
  if (s.ok())
    return true;
  if (s.IsNotFound())
    return false;
  return from_status(s, "get from", path_);
}

expected<void> leveldb_store::put(std::string_view key, std::string_view value, std::int64_t) {
  write_batch_->Clear(); // keeps its buffer: no allocation per put once warmed up
  write_batch_->Put(data_key(key), leveldb::Slice{value.data(), value.size()});
  auto s = db_->Write(write_options(), write_batch_.get());
  if (!s.ok())
    return from_status(s, "put into", path_);
  return ok();
}

expected<void> leveldb_store::remove(std::string_view key, std::int64_t) {
  write_batch_->Clear();
  write_batch_->Delete(data_key(key));
  auto s = db_->Write(write_options(), write_batch_.get());
  if (!s.ok())
    return from_status(s, "remove from", path_);
  return ok();
}

expected<void> leveldb_store::write(const store_batch& batch) {
  write_batch_->Clear();
  batch.for_each([this](std::string_view key, std::optional<std::string_view> value) {
    if (value)
      write_batch_->Put(data_key(key), leveldb::Slice{value->data(), value->size()});
    else
      write_batch_->Delete(data_key(key));
  });
  std::string encoded;
  if (batch.checkpoint()) {
    encoded = detail::encode_checkpoint(*batch.checkpoint());
    write_batch_->Put(leveldb::Slice{checkpoint_key.data(), checkpoint_key.size()}, encoded);
  }
  auto s = db_->Write(write_options(), write_batch_.get());
  if (!s.ok())
    return from_status(s, "write batch into", path_);
  if (batch.checkpoint())
    checkpoint_ = batch.checkpoint();
  return ok();
}

std::unique_ptr<kv_iterator> leveldb_store::scan(const scan_bounds& bounds) {
  if (bounds.to && (bounds.from > *bounds.to || (bounds.from == *bounds.to && !bounds.to_inclusive)))
    return std::make_unique<empty_iterator>();
  leveldb::ReadOptions ro;
  // Unbounded scans (all()) would evict the point-lookup working set from the block cache.
  ro.fill_cache = bounds.to.has_value();
  return std::make_unique<leveldb_iterator>(std::unique_ptr<leveldb::Iterator>(db_->NewIterator(ro)), bounds, path_);
}

expected<std::uint64_t> leveldb_store::approximate_num_entries() {
  leveldb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<leveldb::Iterator> it{db_->NewIterator(ro)};
  std::uint64_t n = 0;
  const char first[1] = {data_prefix};
  for (it->Seek(leveldb::Slice{first, 1}); it->Valid() && it->key()[0] == data_prefix; it->Next())
    ++n;
  if (!it->status().ok())
    return from_status(it->status(), "count entries of", path_);
  return n;
}

expected<void> leveldb_store::flush() { return ok(); }

} // namespace sluice
