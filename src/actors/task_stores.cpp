#include "actors/task_stores.hpp"

#include "actors/kafka_client.hpp"
#include "actors/record_collector.hpp"
#include "actors/task_actor.hpp"
#include "state/caching_store.hpp"

#include <leveldb/cache.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace sluice {

void node_store::flush() {
  auto r = key_value ? key_value->flush() : windows->flush();
  if (!r)
    throw std::runtime_error("cannot flush store of " + changelog_topic + ": " + r.error().message);
}

void node_store::checkpoint(int64_t offset, uint64_t covered) {
  auto r = key_value ? key_value->commit_checkpoint(offset) : windows->commit_checkpoint(offset);
  if (!r)
    spdlog::warn("cannot checkpoint {} at {}: {} (restore will replay more)", changelog_topic, offset,
                 r.error().message);
  else
    writes_checkpointed = covered;
}

task_stores::~task_stores() {
  if (!lock)
    return;
  bool clean = true;
  for (const auto& [id, ns] : by_node)
    clean = clean && ns.at_checkpoint();
  by_node.clear(); // closes the stores
  std::error_code ec;
  if (clean)
    std::filesystem::remove(lock->directory() / running_marker, ec);
}

namespace {

using clock = std::chrono::steady_clock;

/// A consumer reading changelog partitions by assignment (no group).
class changelog_reader {
public:
  /// `report_progress`: log how far each read is (restores), or stay quiet (standbys, which read often).
  explicit changelog_reader(const streams_config& config, bool report_progress = true)
      : report_progress_(report_progress),
        rk_(make_kafka_client(RD_KAFKA_CONSUMER,
                              {{{"bootstrap.servers", config.bootstrap_servers},
                                {"group.id", config.application_id + "-restore"},
                                {"enable.auto.commit", "false"},
                                {"enable.partition.eof", "true"},
                                {"client.id", config.application_id + "-restore"}},
                               config.guarantee == processing_guarantee::exactly_once // aborted writes are not state
                                 ? std::map<std::string, std::string>{{"isolation.level", "read_committed"}}
                                 : std::map<std::string, std::string>{},
                               config.kafka_common,
                               config.kafka_consumer},
                              "the restore consumer")) {
    queue_ = rd_kafka_queue_get_consumer(rk_.get());
    if (!queue_)
      queue_ = rd_kafka_queue_get_main(rk_.get());
  }
  ~changelog_reader() { rd_kafka_queue_destroy(queue_); }

  /// The [low, high) offsets of a partition; throws if the partition does not exist.
  std::pair<int64_t, int64_t> watermarks(const std::string& topic, int32_t partition, const std::atomic<bool>& stop) {
    for (int attempt = 1;; ++attempt) {
      int64_t low = 0, high = 0;
      auto err = rd_kafka_query_watermark_offsets(rk_.get(), topic.c_str(), partition, &low, &high, 5000);
      if (!err)
        return {low, high};
      if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART && attempt >= 3)
        throw std::runtime_error("changelog partition " + topic + "-" + std::to_string(partition) +
                                 " does not exist: create the topic with as many partitions as the task's source");
      if (stop)
        return {0, 0};
      spdlog::warn("cannot read the end of {}-{} yet: {} (retrying)", topic, partition, rd_kafka_err2str(err));
      std::this_thread::sleep_for(std::chrono::milliseconds(500 * std::min(attempt, 10)));
    }
  }

  /// Reads [from, high) of the partition, calling `apply(records, last_offset)` per chunk; ends at
  /// `high` or at the end of the partition, whichever comes first (the last offsets may hold no
  /// record: transaction markers, compacted records).
  template <class Apply>
  int64_t read(const std::string& topic, int32_t partition, int64_t from, int64_t high, const std::atomic<bool>& stop,
               const std::string& what, Apply apply) {
    if (from >= high)
      return 0;
    auto* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic.c_str(), partition)->offset = from;
    rd_kafka_assign(rk_.get(), list);
    rd_kafka_topic_partition_list_destroy(list);
    std::vector<rd_kafka_message_t*> buffer(10000);
    std::vector<changelog_record> records;
    const auto total = high - from;
    int64_t done = 0, position = from;
    bool at_end = false;
    const auto start = clock::now();
    auto last_log = start;
    while (position < high && !at_end && !stop) {
      auto n = rd_kafka_consume_batch_queue(queue_, 200, buffer.data(), buffer.size());
      records.clear();
      int64_t last = -1;
      for (ssize_t i = 0; i < n; ++i) {
        auto* m = buffer[static_cast<size_t>(i)];
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
          position = std::max(position, m->offset + 1);
          if (m->offset >= high)
            continue;
          records.push_back({{static_cast<const char*>(m->key), m->key_len},
                             m->payload
                               ? std::optional<std::string_view>{{static_cast<const char*>(m->payload), m->len}}
                               : std::nullopt});
          last = m->offset;
        } else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          at_end = true;
        } else {
          spdlog::warn("restoring {}: {} (retrying)", what, rd_kafka_message_errstr(m));
        }
      }
      if (last >= 0) {
        apply(records, last);
        done += static_cast<int64_t>(records.size());
      }
      for (ssize_t i = 0; i < n; ++i)
        rd_kafka_message_destroy(buffer[static_cast<size_t>(i)]);
      if (report_progress_ && clock::now() - last_log > std::chrono::seconds(2)) {
        last_log = clock::now();
        spdlog::info("restoring {}: {}/{} records", what, done, total);
      }
    }
    rd_kafka_assign(rk_.get(), nullptr);
    const double secs = std::chrono::duration<double>(clock::now() - start).count();
    if (done > 0 && report_progress_)
      spdlog::info("restored {}: {} records in {:.2f} s ({:.0f} records/s)", what, done, secs,
                   secs > 0 ? static_cast<double>(done) / secs : 0.0);
    return done;
  }

private:
  bool report_progress_;
  kafka_handle rk_;
  rd_kafka_queue_t* queue_ = nullptr;
};

template <class T>
T check(expected<T> r, const std::string& what) {
  if (!r)
    throw std::runtime_error(what + ": " + r.error().message);
  if constexpr (!std::is_void_v<T>)
    return std::move(*r);
}

/// Reads the changelog records past the last commit, [from, high), written by a run that did
/// not commit them, and queues for each key its committed value (or a tombstone), so that a
/// later restore reading past them still ends at the committed state.
void compensate(changelog_reader& reader, node_store& ns, int32_t partition, int64_t from, int64_t high,
                const std::atomic<bool>& stop, const std::string& what) {
  std::set<std::string> keys;
  reader.read(ns.changelog_topic, partition, from, high, stop, what + " (uncommitted tail)",
              [&](const std::vector<changelog_record>& rs, int64_t) {
                for (const auto& r : rs)
                  keys.emplace(r.key);
              });
  std::string value;
  for (const auto& key : keys) {
    bool found = false;
    if (ns.windows) {
      auto k = window_store::decode_changelog_key(key);
      found = k && check(ns.windows->fetch_into(k->first, k->second, value), "cannot read " + what);
    } else {
      found = check(ns.key_value->get_into(key, value), "cannot read " + what);
    }
    ns.compensation.emplace_back(key, found ? std::optional<std::string>{value} : std::nullopt);
  }
  if (!keys.empty())
    spdlog::info("{}: {} changelog record(s) past the last commit ({}..{}) are superseded by {} record(s) of the "
                 "committed state",
                 what, high - from, from, high - 1, keys.size());
}

} // namespace

store_resources::store_resources(const streams_config& config)
    : record_cache(std::make_shared<cache_budget>(static_cast<size_t>(config.cache_max_bytes_buffering))) {
  leveldb.block_cache.reset(leveldb::NewLRUCache(static_cast<size_t>(config.state_block_cache_max_bytes)));
}

std::shared_ptr<task_stores> open_task_stores(const topology& topo, int subtopology, int32_t partition,
                                              const streams_config& config, const store_resources& shared,
                                              const std::optional<std::map<std::string, int64_t>>& committed,
                                              const std::atomic<bool>& stop, task_metrics& progress) {
  auto stores = std::make_shared<task_stores>();
  std::vector<int> stateful;
  for (int id : topo.subtopologies()[static_cast<size_t>(subtopology)].nodes)
    if (topo.nodes()[static_cast<size_t>(id)].store)
      stateful.push_back(id);
  if (stateful.empty())
    return stores;

  const auto task = task_name(subtopology, partition);
  auto dir = check(state_directory::open(config.state_dir, config.application_id), "cannot open state directory");
  // The previous owner of the task (another instance on this machine) may still be closing it.
  for (int attempt = 1; !stores->lock; ++attempt) {
    auto lock = dir.lock_task(task);
    if (lock) {
      stores->lock.emplace(std::move(*lock));
    } else if (lock.error().code != errc::locked || attempt > 600) {
      throw std::runtime_error("cannot lock state of task " + task + ": " + lock.error().message);
    } else {
      if (attempt == 1)
        spdlog::info("task {}: state directory is locked (by another instance, or a standby here letting go); waiting",
                     task);
      if (stop)
        return nullptr;
      std::this_thread::sleep_for(std::chrono::milliseconds(100)); // a standby here lets go within 100 ms
    }
  }

  // After a crash the stores may hold writes past the last commit; with the commit's changelog
  // positions they are rebuilt to exactly that point (docs/architecture.md, "State").
  const auto marker = stores->lock->directory() / task_stores::running_marker;
  const bool crashed = std::filesystem::exists(marker);
  changelog_reader reader{config};
  for (int id : stateful) {
    const auto& spec = *topo.nodes()[static_cast<size_t>(id)].store;
    auto& ns = stores->by_node[id];
    ns.changelog_topic = topo.changelog_topic(spec.name);
    const auto what = "task " + task + " store " + spec.name;
    auto [low, high] = reader.watermarks(ns.changelog_topic, partition, stop);
    // The last changelog offset the store must reflect: the committed one, or the end.
    std::optional<int64_t> target;
    if (committed) {
      auto it = committed->find(spec.name);
      target = it == committed->end() ? -1 : it->second;
    }
    const int64_t end = target ? std::min(*target + 1, high) : high;

    auto opened = check(dir.open_leveldb_store(*stores->lock, spec.name, shared.leveldb), "cannot open " + what);
    if (opened.outcome == open_outcome::wiped_corrupt)
      spdlog::warn("{}: local store was corrupt ({}); rebuilding it from {}", what, opened.reason, ns.changelog_topic);
    auto checkpoint = opened.store->checkpoint();
    std::string rebuild;
    if (checkpoint && *checkpoint + 1 > end)
      rebuild = "its checkpoint " + std::to_string(*checkpoint) + " is past " +
                (target ? "the last commit's changelog offset " + std::to_string(*target)
                        : "the end of " + ns.changelog_topic + " (" + std::to_string(high) + ")");
    else if (crashed && target && opened.outcome == open_outcome::opened_existing)
      rebuild = "the last run stopped without closing it, so it may hold uncommitted writes";
    if (!rebuild.empty()) {
      spdlog::warn("{}: rebuilding from {}: {}", what, ns.changelog_topic, rebuild);
      opened.store.reset();
      check(dir.wipe(*stores->lock, spec.name), "cannot wipe " + what);
      opened = check(dir.open_leveldb_store(*stores->lock, spec.name, shared.leveldb), "cannot open " + what);
      checkpoint.reset();
    }
    const int64_t from = std::max(low, checkpoint ? *checkpoint + 1 : low);
    progress.to_restore += std::max<int64_t>(0, end - from);
    auto restored = [&](size_t n) { progress.restored.fetch_add(static_cast<int64_t>(n), std::memory_order_relaxed); };
    if (spec.windowed) {
      window_store_options options;
      options.retention_ms = spec.retention_ms;
      options.changelog = ns.changelog.get();
      options.time_from_puts = false; // the operator's watermark drives retention
      options.cache = shared.record_cache;
      ns.windows = check(window_store::open(std::move(opened.store), options), "cannot open " + what);
      reader.read(ns.changelog_topic, partition, from, end, stop, what,
                  [&](const std::vector<changelog_record>& rs, int64_t last) {
                    check(ns.windows->restore(rs, last), "cannot restore " + what);
                    restored(rs.size());
                  });
    } else {
      caching_store_options options;
      options.budget = shared.record_cache;
      options.changelog = ns.changelog.get();
      ns.key_value = std::make_unique<caching_store>(std::move(opened.store), options);
      reader.read(ns.changelog_topic, partition, from, end, stop, what,
                  [&](const std::vector<changelog_record>& rs, int64_t last) {
                    check(ns.key_value->restore(rs, last), "cannot restore " + what);
                    restored(rs.size());
                  });
    }
    if (stop)
      return nullptr;
    if (end < high)
      compensate(reader, ns, partition, end, high, stop, what);
  }
  std::vector<std::pair<std::string, std::filesystem::path>> dirs;
  for (int id : stateful) {
    const auto& name = topo.nodes()[static_cast<size_t>(id)].store->name;
    dirs.emplace_back(name, stores->lock->directory() / name);
  }
  progress.set_stores(std::move(dirs));
  // Created only now: a crash during restore leaves nothing uncommitted behind.
  std::ofstream{marker}.put('\n');
  return stores;
}

struct standby_stores::impl {
  /// One store: where it is in its changelog.
  struct followed {
    std::string name, changelog_topic;
    std::unique_ptr<key_value_store> key_value; // or
    std::unique_ptr<window_store> windows;
    int64_t position = 0; // the next changelog offset to apply
    int64_t target = 0;   // the next offset past the last commit, as of the last catch_up
  };
  task_lock lock;
  std::string task;
  int32_t partition;
  changelog_reader reader;
  std::vector<followed> stores;
  impl(task_lock l, std::string t, int32_t p, const streams_config& config)
      : lock(std::move(l)), task(std::move(t)), partition(p), reader(config, false) {}
};

standby_stores::standby_stores(std::unique_ptr<impl> d) : impl_(std::move(d)) {}

standby_stores::~standby_stores() = default;

std::unique_ptr<standby_stores> standby_stores::open(const topology& topo, int subtopology, int32_t partition,
                                                     const streams_config& config, const store_resources& shared) {
  const auto task = task_name(subtopology, partition);
  auto dir = check(state_directory::open(config.state_dir, config.application_id), "cannot open state directory");
  auto lock = dir.lock_task(task);
  if (!lock) {
    if (lock.error().code == errc::locked)
      return nullptr;
    throw std::runtime_error("cannot lock state of task " + task + ": " + lock.error().message);
  }
  auto d = std::make_unique<impl>(std::move(*lock), task, partition, config);
  // A store left by a run that stopped without closing it may hold uncommitted writes: start over.
  const bool crashed = std::filesystem::exists(d->lock.directory() / task_stores::running_marker);
  for (int id : topo.subtopologies()[static_cast<size_t>(subtopology)].nodes) {
    const auto& n = topo.nodes()[static_cast<size_t>(id)];
    if (!n.store)
      continue;
    const auto& spec = *n.store;
    const auto what = "standby of task " + task + " store " + spec.name;
    if (crashed)
      check(dir.wipe(d->lock, spec.name), "cannot wipe " + what);
    auto opened = check(dir.open_leveldb_store(d->lock, spec.name, shared.leveldb), "cannot open " + what);
    impl::followed f;
    f.name = spec.name;
    f.changelog_topic = topo.changelog_topic(spec.name);
    const auto checkpoint = opened.store->checkpoint();
    f.position = checkpoint ? *checkpoint + 1 : 0;
    if (spec.windowed) {
      window_store_options options;
      options.retention_ms = spec.retention_ms;
      options.time_from_puts = false;
      f.windows = check(window_store::open(std::move(opened.store), options), "cannot open " + what);
    } else {
      f.key_value = std::move(opened.store);
    }
    d->stores.push_back(std::move(f));
  }
  if (crashed)
    std::filesystem::remove(d->lock.directory() / task_stores::running_marker);
  return std::unique_ptr<standby_stores>{new standby_stores(std::move(d))};
}

int64_t standby_stores::catch_up(const std::optional<std::map<std::string, int64_t>>& committed, int64_t most,
                                 const std::atomic<bool>& stop) {
  auto& d = *impl_;
  int64_t applied = 0;
  for (auto& f : d.stores) {
    const auto what = "standby of task " + d.task + " store " + f.name;
    auto [low, high] = d.reader.watermarks(f.changelog_topic, d.partition, stop);
    int64_t target = high;
    if (committed) {
      auto it = committed->find(f.name);
      target = std::min(high, it == committed->end() ? 0 : it->second + 1);
    }
    f.target = target;
    f.position = std::max(f.position, low); // compaction or deletion took what came before
    const auto end = std::min(target, f.position + most);
    applied += d.reader.read(f.changelog_topic, d.partition, f.position, end, stop, what,
                             [&](const std::vector<changelog_record>& rs, int64_t last) {
                               if (f.windows)
                                 check(f.windows->restore(rs, last), "cannot follow " + what);
                               else
                                 check(f.key_value->restore(rs, last), "cannot follow " + what);
                               f.position = last + 1;
                             });
    if (f.position < end && !stop) // only markers or compacted offsets left before `end`
      f.position = end;
  }
  return applied;
}

int64_t standby_stores::lag() const {
  int64_t out = 0;
  for (const auto& f : impl_->stores)
    out += std::max<int64_t>(0, f.target - f.position);
  return out;
}

} // namespace sluice
