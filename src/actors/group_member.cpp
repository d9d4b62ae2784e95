#include "actors/group_member.hpp"
#include "actors/kafka_client.hpp"

#include "actors/messages.hpp"
#include "actors/task_actor.hpp"

#include <sluice/topology/event_time.hpp>

#include <boost/json.hpp>
#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

namespace sluice {

namespace {

using namespace std::chrono_literals;

/// Takes librdkafka's error object: destroys it and returns its code.
rd_kafka_resp_err_t take_error(rd_kafka_error_t* e) {
  if (!e)
    return RD_KAFKA_RESP_ERR_NO_ERROR;
  auto code = rd_kafka_error_code(e);
  rd_kafka_error_destroy(e);
  return code;
}

/// Holds consumed messages until every batch made from them is gone.
struct consumed_messages {
  std::vector<rd_kafka_message_t*> messages;
  ~consumed_messages() {
    for (auto* m : messages)
      rd_kafka_message_destroy(m);
  }
};

/// An eventfd the group member waits on: librdkafka signals it when a queue it reads gets
/// something, and returned credit signals it too (after its message is in the mailbox).
struct wakeup {
  int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  static constexpr uint64_t one = 1; // what librdkafka writes (an eventfd takes 8 bytes)
  wakeup() {
    if (fd < 0)
      throw std::runtime_error(std::string{"cannot create an eventfd: "} + std::strerror(errno));
  }
  ~wakeup() { ::close(fd); }
  void signal() const { [[maybe_unused]] auto n = ::write(fd, &one, sizeof one); }
  /// Waits until signalled or `timeout_ms` passed, and resets.
  void wait(int timeout_ms) const {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) > 0) {
      uint64_t n;
      [[maybe_unused]] auto r = ::read(fd, &n, sizeof n);
    }
  }
  void attach(rd_kafka_queue_t* q) const { rd_kafka_queue_io_event_enable(q, fd, &one, sizeof one); }
  static void detach(rd_kafka_queue_t* q) { rd_kafka_queue_io_event_enable(q, -1, nullptr, 0); }
};

/// Returns a batch's credit to the group member when the last batch derived from it is gone.
struct credit_token {
  group_member_actor member;
  std::shared_ptr<const wakeup> wake;
  uint64_t slot;
  int64_t records;
  int64_t bytes;
  ~credit_token() {
    caf::anon_send(member, credit_atom::value, slot, records, bytes);
    wake->signal();
  }
};

/// Restarts librdkafka's fetching of a partition whose queue had filled up. librdkafka (2.0.2)
/// stops fetching a partition whose queue reached `queued.max.messages.kbytes` and decides again
/// only when its broker thread wakes up: on a response, a request, or about once a second. When
/// every partition of a broker is full there is no response to wait for, so a drained queue would
/// stay unfetched for up to a second; a ListOffsets request to the partition's leader wakes it.
/// The requests are sent from this thread, one at a time; a partition asked for again while its
/// request is pending is asked for once.
class fetch_waker {
public:
  explicit fetch_waker(rd_kafka_t* consumer) : consumer_(consumer), thread_([this] { run(); }) {}
  ~fetch_waker() {
    {
      std::lock_guard lock{mutex_};
      stop_ = true;
    }
    wanted_.notify_one();
    thread_.join();
  }
  /// Asks for `topic`-`partition`'s leader to be woken up; does not block.
  void wake(const std::string& topic, int32_t partition) {
    {
      std::lock_guard lock{mutex_};
      if (!pending_.emplace(topic, partition).second)
        return;
      queue_.emplace_back(topic, partition);
    }
    wanted_.notify_one();
  }

private:
  void run() {
    std::unique_lock lock{mutex_};
    while (true) {
      wanted_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_)
        return;
      auto next = queue_.front();
      queue_.pop_front();
      lock.unlock();
      int64_t low = 0, high = 0; // not needed: the request is what counts
      rd_kafka_query_watermark_offsets(consumer_, next.first.c_str(), next.second, &low, &high, 1000);
      lock.lock();
      pending_.erase(next);
    }
  }
  rd_kafka_t* consumer_;
  std::mutex mutex_;
  std::condition_variable wanted_;
  std::deque<std::pair<std::string, int32_t>> queue_;
  std::set<std::pair<std::string, int32_t>> pending_;
  bool stop_ = false;
  std::thread thread_; // last: starts once the rest is ready
};

/// One assigned source partition.
struct partition_slot {
  std::string topic;
  int32_t partition = 0;
  std::string task;                                // task name
  bool repartition = false;                        // an internal topic: watermark announcements come with the records
  rd_kafka_queue_t* queue = nullptr;               // the partition's own fetch queue (not forwarded to the consumer's)
  int64_t in_flight_bytes = 0;                     // bytes handed out whose credit has not come back
  bool held = false;                               // over its share: not read until half of it came back
  bool at_end = false;                             // its end of partition was the last thing taken from it
  std::chrono::steady_clock::time_point confirmed; // at its end, reached or confirmed then
  std::shared_ptr<raw_batch> pending;              // batch being filled in this poll round
  std::shared_ptr<consumed_messages> pending_messages;
  const std::string* topic_name = nullptr; // stable pointer for record_meta
  std::shared_ptr<partition_metrics> metrics;
};

struct group_member_state {
  static inline const char* name = "group_member";

  group_member_actor::stateful_pointer<group_member_state> self = nullptr;
  topology topo;
  const streams_config* config = nullptr;
  record_collector* collector = nullptr; // exactly-once: transactional
  record_collector* outside_collector =
    nullptr; // exactly-once: the producer of the tasks outside the transaction, or null
  instance_metrics* metrics = nullptr;
  const std::map<std::string, int32_t>* partitions = nullptr;
  rd_kafka_t* consumer = nullptr;
  rd_kafka_queue_t* queue = nullptr; // the consumer's queue: rebalances and errors
  std::shared_ptr<const wakeup> wake = std::make_shared<const wakeup>();
  std::unique_ptr<fetch_waker> waker;
  std::shared_ptr<const store_resources> shared; // what every task's stores share
  std::set<std::string> topic_names;             // stable storage for record_meta::topic
  std::map<uint64_t, partition_slot> slots;      // by slot id
  std::map<std::pair<std::string, int32_t>, uint64_t> slot_of;
  uint64_t next_slot = 1;
  struct running_task {
    task_actor actor;
    bool in_transaction = false; // exactly-once, and its sub-topology writes records
  };
  std::map<std::string, running_task> tasks; // by task name
  std::vector<rd_kafka_message_t*> buffer;
  caf::error failure;
  bool closing = false;
  // Periodic commits: one round at a time per lane, none while the group rebalances (librdkafka
  // holds a rejoin back until in-flight commits finish, so a steady stream of them would starve it).
  // Exactly-once: the transaction's lane holds every task whose sub-topology writes records; the
  // others (alert sinks) write nothing a transaction could hold, so they commit at least once in
  // the plain lane, and a slow webhook never holds the transaction open.
  struct commit_lane {
    bool in_flight = false;
    uint64_t rounds = 0;                           // rounds started; an answer to an earlier one is stale
    std::chrono::steady_clock::time_point started; // of the round in flight (commit latency)
  };
  commit_lane plain;       // at-least-once: every task
  commit_lane transaction; // exactly-once
  bool rebalancing = false;
  // Exactly-once, decided inside a rebalance callback, done once it returns.
  std::optional<std::pair<std::string, std::optional<transaction_outcome>>> rewind_pending; // rewind's arguments
  int rewinds_in_a_row = 0;
  std::map<std::pair<std::string, int32_t>, std::pair<int64_t, std::string>> committed_positions; // offset, metadata
  std::chrono::steady_clock::time_point ends_read; // when the partitions' high watermarks were last read (lag)
  int64_t answered_within_us = 0;                  // a broker whose last answer is older is not counted on (statistics)
  std::optional<std::chrono::steady_clock::time_point> unconfirmed_since; // caught-up partitions without a broker

  ~group_member_state() {
    waker.reset();
    for (auto& [id, s] : slots)
      release_queue(s);
    if (queue) {
      wakeup::detach(queue);
      rd_kafka_queue_destroy(queue);
    }
    if (consumer)
      rd_kafka_destroy(consumer);
  }

  void start();
  /// Takes what is ready: events from the consumer's queue, records from every partition within
  /// its share. Returns the number of records and events taken.
  size_t poll();
  /// Waits for something to take: a queue that got something, or returned credit.
  void wait() const { wake->wait(10); }
  void on_credit(uint64_t slot, int64_t records, int64_t bytes);
  /// Starts a commit round in each lane that has none under way.
  void commit_all();
  void committed(rd_kafka_resp_err_t err);
  /// Exactly-once: commits the transaction with every task's `offsets` (those that changed);
  /// then the tasks take input again. Returns how the transaction ended.
  transaction_result end_transaction(const source_offsets& offsets);
  /// Exactly-once: tells every task the transaction ended (`committed` or not: then what it held
  /// goes into the open one), so its operators send what they held since their last marker.
  void release_outputs(bool committed);
  /// Exactly-once: the transaction cannot commit (`reason`): aborts it if still open, renews the
  /// producer if it cannot go on, and restarts every task from the last commit, its stores
  /// restored to it. `failed`: how the failed commit ended; nullopt if none was tried (still open).
  void rewind(const std::string& reason, std::optional<transaction_outcome> failed);
  /// Exactly-once: a record of the open transaction failed, so it cannot commit: rewinds now
  /// rather than at the end of the commit round, which would wait for records the failed
  /// transaction holds back until transaction.timeout.ms.
  void abort_failed_transaction();
  void shutdown(caf::error reason);
  /// Exactly-once: commits are transactions.
  bool transactional() const { return collector->transactional(); }
  /// True if the task reading `topic` commits in the transaction.
  bool in_transaction(const std::string& topic) const {
    return transactional() && topo.writes_records(topo.subtopology_of(topic));
  }
  void rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts);
  /// Tells the tasks which of their partitions are still at their end with their broker answering,
  /// from librdkafka's statistics (every confirmation_interval_ms): nothing else tells a caught-up
  /// partition from one whose consumer lost its brokers.
  void confirm_caught_up(std::string_view statistics);

private:
  void assign(rd_kafka_topic_partition_list_t* parts);
  void revoke(rd_kafka_topic_partition_list_t* parts, bool lost);
  /// Commits what `task_names` processed (exactly-once: what every task processed), waiting.
  void commit_sync(const std::set<std::string>& task_names);
  void commit_offsets(const source_offsets& offsets, bool async);
  source_offsets changed(const source_offsets& offsets) const;
  /// The tasks in the transaction's lane (or the plain one).
  std::set<std::string> running_tasks(bool in_transaction) const {
    std::set<std::string> names;
    for (const auto& [name, task] : tasks)
      if (task.in_transaction == in_transaction)
        names.insert(name);
    return names;
  }
  void commit_round(bool in_transaction);
  /// Every half second: each partition's high watermark as librdkafka last fetched it (no
  /// request), for consumer lag.
  void read_ends();
  void spawn_tasks(const rd_kafka_topic_partition_list_t* parts, const committed_metadata& committed);
  void take(ssize_t n, std::vector<uint64_t>& touched);
  int64_t share() const;
  static void release_queue(partition_slot& s);
  raw_batch& pending(partition_slot& s, uint64_t id, std::vector<uint64_t>& touched);
  void dispatch(partition_slot& s, uint64_t id);
  /// The metadata committed with `list`'s partitions; sets their committed offsets in `list`.
  committed_metadata fetch_committed(rd_kafka_topic_partition_list_t* list);
};

void on_rebalance(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts, void* opaque) {
  static_cast<group_member_state*>(opaque)->rebalance(err, parts);
}

void on_commit(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets, void* opaque) {
  auto* st = static_cast<group_member_state*>(opaque);
  if (offsets && offsets->cnt > 0 && st->in_transaction(offsets->elems[0].topic)) {
    // the embedded broker's copy of a transaction's offsets (end_transaction)
    if (err)
      spdlog::warn("offset commit after the transaction failed: {}", rd_kafka_err2str(err));
    return;
  }
  if (!err)
    st->collector->committed(offsets); // purges consumed repartition records
  st->committed(err);
}

int on_statistics(rd_kafka_t*, char* json, size_t size, void* opaque) {
  static_cast<group_member_state*>(opaque)->confirm_caught_up({json, size});
  return 0; // librdkafka frees it
}

void on_consumer_error(rd_kafka_t*, int err, const char* reason, void*) {
  auto code = static_cast<rd_kafka_resp_err_t>(err);
  if (code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || code == RD_KAFKA_RESP_ERR__TRANSPORT ||
      code == RD_KAFKA_RESP_ERR__RESOLVE)
    spdlog::warn("consumer: {} (retrying)", reason);
  else
    spdlog::error("consumer: {}", reason);
}

/// KiB librdkafka may prefetch per partition: twice `input.buffer.max.bytes` over all the partitions
/// the topology reads, 1 to 4 MiB each. A deeper prefetch keeps the fetcher (and its decompression)
/// ahead of processing at 5 ms round trips (1 MiB each on 8 partitions left a core idle); librdkafka
/// counts only payload bytes, and its bookkeeping per message about doubles them for small records.
int64_t prefetch_kib(const topology& topo, const streams_config& config, const std::map<std::string, int32_t>& counts) {
  int64_t partitions = 0;
  for (const auto& t : topo.source_topics())
    if (auto it = counts.find(t); it != counts.end())
      partitions += it->second;
  return std::clamp<int64_t>(2 * config.input_buffer_max_bytes / 1024 / std::max<int64_t>(1, partitions), 1024, 4096);
}

void group_member_state::start() {
  std::vector<std::map<std::string, std::string>> settings{{
    {"bootstrap.servers", config->bootstrap_servers},
    {"group.id", config->application_id},
    {"client.id", config->application_id + "-consumer"},
    {"enable.auto.commit", "false"},
    {"enable.auto.offset.store", "false"},
    {"auto.offset.reset", "earliest"},
    // End of partition tells a task its input is caught up (idleness).
    {"enable.partition.eof", "true"},
    // Each partition has its own queue (see poll): librdkafka fetches a
    // partition until its queue holds this much, bounded by bytes, not
    // by a count.
    {"queued.max.messages.kbytes", std::to_string(prefetch_kib(topo, *config, *partitions))},
    {"queued.min.messages", "1000000"},
  }};
  // Assignor (cooperative-sticky on real clusters), group timeouts, static membership.
  const auto group = consumer_group_settings(collector->cluster(), topo, *config);
  settings.push_back(group.settings);
  if (!group.note.empty())
    spdlog::info("{}", group.note);
  if (config->guarantee == processing_guarantee::exactly_once)
    settings.push_back({{"isolation.level", "read_committed"}});
  settings.push_back(config->kafka_common);
  settings.push_back(config->kafka_consumer);
  if (config->idle_timeout_ms >= 0) // statistics confirm caught-up partitions (confirm_caught_up)
    settings.push_back({{"statistics.interval.ms", std::to_string(confirmation_interval_ms(config->idle_timeout_ms))}});
  consumer = make_kafka_client(RD_KAFKA_CONSUMER, settings, "consumer", [this](rd_kafka_conf_t* conf) {
               // A broker answers a fetch at least every fetch.wait.max.ms, with nothing new to send.
               char wait_ms[32];
               size_t wait_size = sizeof(wait_ms);
               if (rd_kafka_conf_get(conf, "fetch.wait.max.ms", wait_ms, &wait_size) == RD_KAFKA_CONF_OK)
                 answered_within_us = (std::atoll(wait_ms) + 500) * 1000;
               if (config->idle_timeout_ms >= 0)
                 rd_kafka_conf_set_stats_cb(conf, on_statistics);
               rd_kafka_conf_set_opaque(conf, this);
               rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
               rd_kafka_conf_set_offset_commit_cb(conf, on_commit);
               rd_kafka_conf_set_error_cb(conf, on_consumer_error);
             }).release(); // destroyed by ~group_member_state, after its queues
  rd_kafka_poll_set_consumer(consumer);
  queue = rd_kafka_queue_get_consumer(consumer);
  wake->attach(queue);
  waker = std::make_unique<fetch_waker>(consumer);
  auto topics = topo.source_topics();
  auto* list = rd_kafka_topic_partition_list_new(static_cast<int>(topics.size()));
  for (const auto& t : topics)
    rd_kafka_topic_partition_list_add(list, t.c_str(), RD_KAFKA_PARTITION_UA);
  auto e = rd_kafka_subscribe(consumer, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (e)
    throw std::runtime_error(std::string{"cannot subscribe: "} + rd_kafka_err2str(e));
  buffer.resize(static_cast<size_t>(config->max_batch_records));
  spdlog::info("joining group '{}' at {} for topics {}", config->application_id, config->bootstrap_servers,
               fmt::join(topics, ", "));
}

size_t group_member_state::poll() {
  std::vector<uint64_t> touched;
  // Events first: a rebalance callback runs in here and may change the slots.
  auto n = rd_kafka_consume_batch_queue(queue, 0, buffer.data(), buffer.size());
  size_t taken = n > 0 ? static_cast<size_t>(n) : 0;
  take(n, touched);
  read_ends();
  for (auto& [id, s] : slots) {
    if (s.held || !s.queue)
      continue;
    n = rd_kafka_consume_batch_queue(s.queue, 0, buffer.data(), buffer.size());
    taken += n > 0 ? static_cast<size_t>(n) : 0;
    take(n, touched);
    if (s.pending)
      dispatch(s, id);
  }
  for (auto id : touched)
    if (auto it = slots.find(id); it != slots.end() && it->second.pending)
      dispatch(it->second, id);
  return taken;
}

void group_member_state::take(ssize_t n, std::vector<uint64_t>& touched) {
  if (n < 0) {
    spdlog::error("consume failed: {}", rd_kafka_err2str(rd_kafka_last_error()));
    return;
  }
  partition_slot* last = nullptr;
  rd_kafka_topic_t* last_rkt = nullptr;
  int32_t last_partition = -1;
  uint64_t last_id = 0;
  for (ssize_t i = 0; i < n; ++i) {
    auto* m = buffer[static_cast<size_t>(i)];
    if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      spdlog::warn("consumer: {}", rd_kafka_message_errstr(m));
      rd_kafka_message_destroy(m);
      continue;
    }
    if (m->rkt != last_rkt || m->partition != last_partition) {
      last_rkt = m->rkt;
      last_partition = m->partition;
      auto it = slot_of.find({rd_kafka_topic_name(m->rkt), m->partition});
      last = it == slot_of.end() ? nullptr : &slots.at(it->second);
      last_id = it == slot_of.end() ? 0 : it->second;
    }
    if (!last) { // revoked in the meantime
      rd_kafka_message_destroy(m);
      continue;
    }
    last->at_end = m->err != RD_KAFKA_RESP_ERR_NO_ERROR;
    if (m->err) { // end of partition: after the records before it
      last->confirmed = std::chrono::steady_clock::now();
      last->metrics->position = m->offset;
      rd_kafka_message_destroy(m);
      if (last->pending)
        dispatch(*last, last_id);
      self->send(tasks.at(last->task).actor, eof_atom::value, last->topic, last->partition);
      continue;
    }
    auto& batch = pending(*last, last_id, touched);
    batch.next_offset = m->offset + 1;
    if (last->repartition) {
      rd_kafka_headers_t* headers = nullptr;
      const void* value = nullptr;
      size_t size = 0;
      if (!rd_kafka_message_headers(m, &headers) &&
          !rd_kafka_header_get_last(headers, watermark_header.data(), &value, &size)) {
        if (auto a = decode_announcement({static_cast<const char*>(value), size})) {
          a->sent_at_ms = rd_kafka_message_timestamp(m, nullptr);
          batch.announcements.push_back(*a);
        } else
          spdlog::warn("{}-{}@{}: ignoring an unreadable watermark announcement", last->topic, m->partition, m->offset);
        rd_kafka_message_destroy(m);
        continue;
      }
    }
    raw_record r;
    r.key = {static_cast<const char*>(m->key), m->key_len};
    r.value = {static_cast<const char*>(m->payload), m->len};
    if (last->repartition)
      if (auto o = decode_origin(r.value)) {
        r.origin = o->first;
        r.value = o->second;
      }
    r.key_is_null = m->key == nullptr;
    r.value_is_null = m->payload == nullptr;
    r.meta.timestamp = rd_kafka_message_timestamp(m, nullptr);
    r.meta.offset = m->offset;
    r.meta.partition = m->partition;
    r.meta.topic = last->topic_name;
    batch.records.push_back(r);
    batch.bytes += static_cast<int64_t>(m->len + m->key_len);
    last->pending_messages->messages.push_back(m);
  }
}

raw_batch& group_member_state::pending(partition_slot& s, uint64_t id, std::vector<uint64_t>& touched) {
  if (!s.pending) {
    s.pending = std::make_shared<raw_batch>();
    s.pending->topic = s.topic_name;
    s.pending->partition = s.partition;
    s.pending_messages = std::make_shared<consumed_messages>();
    touched.push_back(id);
  }
  return *s.pending;
}

void group_member_state::dispatch(partition_slot& s, uint64_t id) {
  // What a record costs besides its bytes: librdkafka's message and sluice's record, roughly.
  constexpr int64_t record_overhead = 256;
  auto b = std::move(s.pending);
  const auto count = static_cast<int64_t>(b->records.size());
  const auto bytes = b->bytes + count * record_overhead;
  auto token = std::make_shared<credit_token>(caf::actor_cast<group_member_actor>(self), wake, id, count, bytes);
  b->storage = std::move(s.pending_messages);
  b->credit = std::move(token);
  s.in_flight_bytes += bytes;
  metrics->records_consumed += count;
  s.metrics->consumed.fetch_add(count, std::memory_order_relaxed);
  s.metrics->position.store(b->next_offset, std::memory_order_relaxed);
  self->send(tasks.at(s.task).actor, batch_atom::value, batch_ptr{std::move(b)});
  if (s.in_flight_bytes >= share())
    s.held = true; // its records wait in librdkafka's queue, which stops fetching once full
}

void group_member_state::confirm_caught_up(std::string_view statistics) {
  boost::system::error_code ec;
  const auto doc = boost::json::parse(statistics, ec);
  const auto* brokers = ec || !doc.is_object() ? nullptr : doc.as_object().if_contains("brokers");
  if (!brokers || !brokers->is_object())
    return;
  // Partitions whose broker answers, with their high watermark as last fetched (-1: unknown).
  std::map<std::pair<std::string_view, int64_t>, int64_t> answering;
  for (const auto& [name, b] : brokers->as_object()) {
    const auto* broker = b.if_object();
    const auto* state = broker ? broker->if_contains("state") : nullptr;
    const auto* idle = broker ? broker->if_contains("rxidle") : nullptr;
    const auto* toppars = broker ? broker->if_contains("toppars") : nullptr;
    if (!state || !state->is_string() || state->as_string() != "UP" || !idle || !idle->is_int64() ||
        idle->as_int64() < 0 || idle->as_int64() > answered_within_us || !toppars || !toppars->is_object())
      continue;
    for (const auto& [tp_name, tp] : toppars->as_object()) {
      const auto* topic = tp.is_object() ? tp.as_object().if_contains("topic") : nullptr;
      const auto* partition = tp.is_object() ? tp.as_object().if_contains("partition") : nullptr;
      const auto* high = tp.is_object() ? tp.as_object().if_contains("hi_offset") : nullptr;
      if (topic && topic->is_string() && partition && partition->is_int64())
        answering.emplace(std::pair{std::string_view{topic->as_string()}, partition->as_int64()},
                          high && high->is_int64() ? high->as_int64() : -1);
    }
  }
  // Counted as their tasks count them: unconfirmed for longer than a lapse.
  const auto now = std::chrono::steady_clock::now();
  const auto lapse =
    std::chrono::milliseconds(confirmations_lapse_after * confirmation_interval_ms(config->idle_timeout_ms));
  size_t unconfirmed = 0;
  for (auto& [id, s] : slots) {
    if (!s.at_end)
      continue;
    if (auto it = answering.find({s.topic, s.partition}); it != answering.end()) {
      if (it->second > s.metrics->position) // records came that this process has not read yet
        continue;
      s.confirmed = now;
      self->send(tasks.at(s.task).actor, still_caught_up_atom::value, s.topic, s.partition);
    } else if (now - s.confirmed > lapse) {
      ++unconfirmed;
    }
  }
  if (unconfirmed > 0 && !unconfirmed_since) {
    unconfirmed_since = now;
    spdlog::warn("{} caught-up partition(s) not confirmed: their broker does not answer; they hold watermarks "
                 "back instead of turning idle until it does",
                 unconfirmed);
  } else if (unconfirmed == 0 && unconfirmed_since) {
    spdlog::info("caught-up partitions confirmed again after {:.1f} s",
                 std::chrono::duration<double>(now - *unconfirmed_since).count());
    unconfirmed_since.reset();
  }
}

void group_member_state::read_ends() {
  const auto now = std::chrono::steady_clock::now();
  if (now - ends_read < 500ms)
    return;
  ends_read = now;
  for (auto& [id, s] : slots) {
    int64_t low = -1, high = -1;
    if (rd_kafka_get_watermark_offsets(consumer, s.topic.c_str(), s.partition, &low, &high) || high < 0)
      continue;
    s.metrics->end.store(high, std::memory_order_relaxed);
    if (s.metrics->position.load(std::memory_order_relaxed) < 0 && low >= 0)
      s.metrics->position.store(low, std::memory_order_relaxed); // nothing committed: reading from the start
  }
}

int64_t group_member_state::share() const {
  constexpr int64_t at_least = 64 * 1024;
  return std::max(at_least, config->input_buffer_max_bytes / std::max<int64_t>(1, static_cast<int64_t>(slots.size())));
}

void group_member_state::on_credit(uint64_t slot, int64_t records, int64_t bytes) {
  metrics->records_processed += records;
  auto it = slots.find(slot);
  if (it == slots.end())
    return;
  auto& s = it->second;
  s.in_flight_bytes -= bytes;
  if (s.held && s.in_flight_bytes < share() / 2) {
    s.held = false;
    if (waker && s.queue && rd_kafka_queue_length(s.queue) > 0)
      waker->wake(s.topic, s.partition); // its queue may have filled up while held
  }
}

void group_member_state::release_queue(partition_slot& s) {
  if (!s.queue)
    return;
  wakeup::detach(s.queue);
  rd_kafka_queue_destroy(s.queue);
  s.queue = nullptr;
}

/// `offsets` as librdkafka's list (the caller destroys it).
rd_kafka_topic_partition_list_t* partition_list(const source_offsets& offsets) {
  auto* list = rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size()));
  for (const auto& o : offsets) {
    auto* p = rd_kafka_topic_partition_list_add(list, o.topic.c_str(), o.partition);
    p->offset = o.offset;
    if (!o.metadata.empty()) { // freed with the list
      p->metadata = std::malloc(o.metadata.size());
      std::memcpy(p->metadata, o.metadata.data(), o.metadata.size());
      p->metadata_size = o.metadata.size();
    }
  }
  return list;
}

source_offsets group_member_state::changed(const source_offsets& offsets) const {
  source_offsets out;
  for (const auto& o : offsets) {
    if (!slot_of.count({o.topic, o.partition}))
      continue; // revoked meanwhile
    auto it = committed_positions.find({o.topic, o.partition});
    // At-least-once commits when the position moved; a transaction also when the metadata did
    // (a watermark moved by idleness, with what it emitted).
    if (it == committed_positions.end() || it->second.first != o.offset ||
        (transactional() && it->second.second != o.metadata))
      out.push_back(o);
  }
  return out;
}

void group_member_state::commit_offsets(const source_offsets& offsets, bool async) {
  if (offsets.empty())
    return;
  auto* list = partition_list(offsets);
  auto err = rd_kafka_commit(consumer, list, async ? 1 : 0);
  rd_kafka_topic_partition_list_destroy(list);
  if (err && async)
    committed(err); // refused at once: no callback follows
  else if (err)
    spdlog::warn("offset commit failed: {}", rd_kafka_err2str(err));
}

void group_member_state::commit_all() {
  commit_round(false);
  if (transactional())
    commit_round(true);
}

void group_member_state::commit_round(bool in_transaction) {
  auto& lane = in_transaction ? transaction : plain;
  auto names = running_tasks(in_transaction);
  if (lane.in_flight || rebalancing || names.empty())
    return;
  lane.in_flight = true;
  lane.started = std::chrono::steady_clock::now();
  // Every task passes a marker; their offsets go to the broker in one commit once all answered.
  struct round {
    uint64_t id;
    std::set<std::string> tasks;
    size_t waiting;
    source_offsets offsets;
    bool complete = true;
  };
  auto r = std::make_shared<round>(round{++lane.rounds, names, names.size(), {}});
  auto finish = [this, r, &lane, in_transaction] {
    if (--r->waiting > 0 || r->id != lane.rounds)
      return; // more to come, or superseded by a commit during a rebalance or by a rewind
    if (closing) {
      lane.in_flight = false;
      return;
    }
    if (in_transaction) {
      lane.in_flight = false;
      if (!r->complete)
        rewind("a task did not pass the commit marker", std::nullopt);
      else if (running_tasks(true) !=
               r->tasks) { // a task started meanwhile: its outputs are in the transaction, so are its offsets
        release_outputs(false);
        commit_round(true);
      } else if (auto e = end_transaction(r->offsets); e.outcome != transaction_outcome::committed)
        rewind(e.reason, e.outcome);
      return;
    }
    auto moved = changed(r->offsets);
    if (moved.empty()) {
      lane.in_flight = false;
      return;
    }
    for (auto& o : moved)
      committed_positions[{o.topic, o.partition}] = {o.offset, {}};
    commit_offsets(moved, true); // committed() ends the round
  };
  for (const auto& name : names)
    self->request(tasks.at(name).actor, 120s, commit_atom::value)
      .then(
        [r, finish](const source_offsets& offsets) {
          r->offsets.insert(r->offsets.end(), offsets.begin(), offsets.end());
          finish();
        },
        [r, finish, name = name](const caf::error& e) {
          spdlog::warn("task {}: commit skipped: {}", name, to_string(e));
          r->complete = false;
          finish();
        });
}

transaction_result group_member_state::end_transaction(const source_offsets& offsets) {
  auto moved = changed(offsets);
  transaction_result result;
  if (!moved.empty()) { // else nothing happened since the last commit: the transaction stays open
    auto* list = partition_list(moved);
    result = collector->commit_transaction(list, consumer);
    rd_kafka_topic_partition_list_destroy(list);
    if (result.outcome != transaction_outcome::committed)
      return result;
    metrics->commits++;
    metrics->observe_commit(std::chrono::steady_clock::now() - transaction.started);
    rewinds_in_a_row = 0;
    for (auto& o : moved)
      committed_positions[{o.topic, o.partition}] = {o.offset, o.metadata};
    // The embedded broker answers TxnOffsetCommit without storing the offsets: there they are
    // committed again after the transaction, so restarts and rebalances find them.
    if (!collector->cluster().admin_api)
      commit_offsets(moved, true);
  }
  release_outputs(!moved.empty());
  return result;
}

void group_member_state::release_outputs(bool committed) {
  for (const auto& [name, task] : tasks)
    if (task.in_transaction)
      self->send(task.actor, txn_done_atom::value, committed);
}

void group_member_state::abort_failed_transaction() {
  if (!transactional() || rebalancing)
    return;
  if (auto reason = collector->transaction_failure())
    rewind(*reason, std::nullopt);
}

void group_member_state::rewind(const std::string& reason, std::optional<transaction_outcome> failed) {
  // A record that can never be written (too large, say) would fail every transaction anew.
  constexpr int most_rewinds_in_a_row = 10;
  metrics->rewinds++;
  if (++rewinds_in_a_row > most_rewinds_in_a_row) {
    shutdown(to_caf_error({errc::kafka_failed, "exactly-once: " + std::to_string(most_rewinds_in_a_row) +
                                                 " transactions in a row aborted; the last: " + reason}));
    return;
  }
  const auto restarting = running_tasks(true);
  spdlog::warn("exactly-once: {}; the transaction is aborted{} and {} task(s) start again from the last commit, "
               "their stores restored to it",
               reason, failed == transaction_outcome::fatal ? " (with a new producer)" : "", restarting.size());
  for (const auto& name : restarting) {
    self->demonitor(tasks.at(name).actor.address());
    self->send_exit(tasks.at(name).actor, caf::exit_reason::user_shutdown);
    tasks.erase(name);
  }
  ++transaction.rounds;
  transaction.in_flight = false;
  committed_positions.clear();
  if (failed != transaction_outcome::aborted) {
    auto r = failed ? collector->renew_producer() : collector->abort_transaction(); // failed: fatal
    if (!failed && r.outcome == transaction_outcome::fatal) // the abort failed: the producer must go too
      r = collector->renew_producer();
    if (r.outcome == transaction_outcome::fatal) {
      shutdown(to_caf_error({errc::kafka_failed, "exactly-once: the producer cannot go on: " + r.reason}));
      return;
    }
  }
  auto* list = rd_kafka_topic_partition_list_new(static_cast<int>(slots.size()));
  for (auto& [id, s] : slots) {
    if (!in_transaction(s.topic))
      continue; // its task goes on
    rd_kafka_topic_partition_list_add(list, s.topic.c_str(), s.partition);
    s.pending.reset(); // read again from the committed offset
    s.pending_messages.reset();
    s.at_end = false;
  }
  if (list->cnt == 0) {
    rd_kafka_topic_partition_list_destroy(list);
    return;
  }
  const auto committed = fetch_committed(list);
  for (int i = 0; i < list->cnt; ++i) {
    if (auto it = slot_of.find({list->elems[i].topic, list->elems[i].partition}); it != slot_of.end())
      slots.at(it->second).metrics->position = list->elems[i].offset; // -1: from the start (read_ends)
    if (list->elems[i].offset < 0)
      list->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING; // nothing committed yet
  }
  if (auto* e = rd_kafka_seek_partitions(consumer, list, 10000))
    shutdown(to_caf_error({errc::kafka_failed, std::string{"exactly-once: cannot rewind to the last commit: "} +
                                                 rd_kafka_error_string(e)}));
  else
    for (int i = 0; i < list->cnt; ++i)
      if (list->elems[i].err)
        spdlog::error("exactly-once: cannot rewind {}-{}: {}", list->elems[i].topic, list->elems[i].partition,
                      rd_kafka_err2str(list->elems[i].err));
  if (!closing)
    spawn_tasks(list, committed);
  rd_kafka_topic_partition_list_destroy(list);
}

void group_member_state::committed(rd_kafka_resp_err_t err) {
  plain.in_flight = false;
  if (!err) {
    metrics->commits++;
    metrics->observe_commit(std::chrono::steady_clock::now() - plain.started);
    return;
  }
  if (err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS || err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
      err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID) {
    rebalancing = true; // until the group settles (next rebalance callback)
    committed_positions.clear();
    spdlog::info("offset commit deferred: {}; committing again after the rebalance", rd_kafka_err2str(err));
    return;
  }
  committed_positions.clear();
  spdlog::warn("offset commit failed: {} (the next commit retries)", rd_kafka_err2str(err));
}

void group_member_state::commit_sync(const std::set<std::string>& task_names) {
  caf::scoped_actor blocker{self->system()};
  bool complete = true;
  transaction.started = std::chrono::steady_clock::now();
  source_offsets all;
  if (transactional()) // an asynchronous round may have sealed operators: this commit takes what they hold
    release_outputs(false);
  // Exactly-once: one transaction holds the outputs of every task in it, so all of them commit.
  for (const auto& [name, task] : tasks) {
    if (!task.in_transaction && !task_names.count(name))
      continue;
    blocker->request(task.actor, 120s, commit_atom::value)
      .receive(
        [&, in = task.in_transaction](const source_offsets& offsets) {
          if (in)
            all.insert(all.end(), offsets.begin(), offsets.end());
          else
            commit_offsets(offsets, false);
        },
        [&, name = name](const caf::error& e) {
          spdlog::warn("task {}: final commit failed: {}", name, to_string(e));
          complete = false;
        });
  }
  if (!transactional())
    return;
  ++transaction.rounds; // an asynchronous round still under way is superseded
  transaction.in_flight = false;
  if (!complete) {
    rewind_pending = {"a task did not pass the commit marker", std::nullopt};
    return;
  }
  if (auto e = end_transaction(all); e.outcome != transaction_outcome::committed)
    rewind_pending = {e.reason, e.outcome};
}

void group_member_state::rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
  rebalancing = false;
  metrics->rebalances++;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    assign(parts);
    if (!closing)
      metrics->state = instance_state::running;
  } else {
    if (!closing)
      metrics->state = instance_state::rebalancing; // until the assignment that follows
    revoke(parts, rd_kafka_assignment_lost(consumer));
  }
}

committed_metadata group_member_state::fetch_committed(rd_kafka_topic_partition_list_t* list) {
  committed_metadata out;
  if (auto err = rd_kafka_committed(consumer, list, 30000)) {
    spdlog::warn("cannot read the committed offsets' metadata: {}; tasks start without restored watermarks and "
                 "restore their stores to the end of their changelogs",
                 rd_kafka_err2str(err));
  } else {
    for (int i = 0; i < list->cnt; ++i) {
      const auto& p = list->elems[i];
      if (p.metadata && p.metadata_size > 0)
        out[{p.topic, p.partition}] = std::string{static_cast<const char*>(p.metadata), p.metadata_size};
      else if (p.offset == RD_KAFKA_OFFSET_INVALID)
        out[{p.topic, p.partition}] = task_metadata_of_no_commit; // nothing committed: state starts empty
    }
  }
  return out;
}

void group_member_state::spawn_tasks(const rd_kafka_topic_partition_list_t* parts,
                                     const committed_metadata& committed) {
  // New tasks, with their source partitions and what their last commit carried.
  std::map<std::string, std::pair<std::vector<std::pair<std::string, int32_t>>, committed_metadata>> fresh;
  for (int i = 0; i < parts->cnt; ++i) {
    const auto& p = parts->elems[i];
    auto tname = task_name(topo.subtopology_of(p.topic), p.partition);
    if (tasks.count(tname))
      continue;
    auto& [inputs, mine] = fresh[tname];
    inputs.emplace_back(p.topic, p.partition);
    if (auto it = committed.find({p.topic, p.partition}); it != committed.end())
      mine.emplace(it->first, it->second);
  }
  for (auto& [tname, spec] : fresh) {
    const auto& first = spec.first.front();
    const bool in = in_transaction(first.first);
    auto* producer = in || !outside_collector ? collector : outside_collector;
    auto task = spawn_task(self->system(), topo, topo.subtopology_of(first.first), first.second, producer, config,
                           shared, partitions, spec.second, spec.first, metrics);
    self->monitor(task);
    tasks.emplace(tname, running_task{std::move(task), in});
  }
}

void group_member_state::assign(rd_kafka_topic_partition_list_t* parts) {
  const bool cooperative = rebalance_protocol(consumer) == "COOPERATIVE";
  auto* offsets = rd_kafka_topic_partition_list_copy(parts); // parts are assigned as they came
  spawn_tasks(parts, fetch_committed(offsets));
  const auto repartition = topo.repartition_topics();
  std::vector<std::string> names;
  for (int i = 0; i < parts->cnt; ++i) {
    const auto& p = parts->elems[i];
    std::string topic = p.topic;
    auto tname = task_name(topo.subtopology_of(topic), p.partition);
    auto id = next_slot++;
    partition_slot s;
    s.topic = topic;
    s.partition = p.partition;
    s.task = tname;
    s.repartition = std::find(repartition.begin(), repartition.end(), topic) != repartition.end();
    s.topic_name = &*topic_names.insert(topic).first;
    s.metrics = metrics->add_partition(topic, p.partition, tname);
    if (offsets->elems[i].offset >= 0)
      s.metrics->position = offsets->elems[i].offset;
    // Its own queue, split off before the assignment starts fetching (librdkafka then leaves it
    // alone): its records are read only while it has credit, the rest wait in librdkafka.
    s.queue = rd_kafka_queue_get_partition(consumer, topic.c_str(), p.partition);
    if (s.queue) {
      rd_kafka_queue_forward(s.queue, nullptr);
      wake->attach(s.queue);
    }
    slots.emplace(id, std::move(s));
    slot_of[{topic, p.partition}] = id;
    committed_positions.erase({topic, p.partition});
    names.push_back(topic + "-" + std::to_string(p.partition));
  }
  auto e = cooperative ? take_error(rd_kafka_incremental_assign(consumer, parts)) : rd_kafka_assign(consumer, parts);
  rd_kafka_topic_partition_list_destroy(offsets);
  if (e)
    spdlog::error("assign failed: {}", rd_kafka_err2str(e));
  metrics->assigned_partitions = static_cast<int32_t>(slots.size());
  spdlog::info("assigned {} partition(s): {} (now {} task(s))", parts->cnt, fmt::join(names, ", "), tasks.size());
}

void group_member_state::revoke(rd_kafka_topic_partition_list_t* parts, bool lost) {
  std::set<std::string> affected;
  std::vector<std::string> names;
  for (int i = 0; i < parts->cnt; ++i) {
    auto it = slot_of.find({parts->elems[i].topic, parts->elems[i].partition});
    if (it != slot_of.end())
      affected.insert(slots.at(it->second).task);
    names.push_back(std::string{parts->elems[i].topic} + "-" + std::to_string(parts->elems[i].partition));
  }
  // Drain and commit before letting go: every output of the revoked records is acknowledged first.
  if (!lost && !failure)
    commit_sync(affected);
  else if (lost && transactional() && !failure)
    rewind_pending = {"partitions were lost (this instance was out of the group)", std::nullopt};
  for (int i = 0; i < parts->cnt; ++i) {
    auto it = slot_of.find({parts->elems[i].topic, parts->elems[i].partition});
    if (it == slot_of.end())
      continue;
    auto& s = slots.at(it->second);
    if (auto t = tasks.find(s.task); t != tasks.end())
      self->send(t->second.actor, revoke_atom::value, s.topic, s.partition);
    release_queue(s);
    slots.erase(it->second);
    slot_of.erase(it);
  }
  for (const auto& name : affected) {
    bool still_used = false;
    for (const auto& [id, s] : slots)
      still_used = still_used || s.task == name;
    if (!still_used) {
      self->demonitor(tasks.at(name).actor.address());
      self->send_exit(tasks.at(name).actor, caf::exit_reason::user_shutdown);
      tasks.erase(name);
    }
  }
  // A group that has terminated (closing) takes no unassignment: its partitions are already let go.
  if (const auto protocol = rebalance_protocol(consumer); !protocol.empty()) {
    auto e = protocol == "COOPERATIVE" ? take_error(rd_kafka_incremental_unassign(consumer, parts))
                                       : rd_kafka_assign(consumer, nullptr);
    if (e)
      spdlog::error("unassign failed: {}", rd_kafka_err2str(e));
  }
  metrics->assigned_partitions = static_cast<int32_t>(slots.size());
  spdlog::info("{} {} partition(s): {} ({} task(s) left)", lost ? "lost" : "revoked", parts->cnt,
               fmt::join(names, ", "), tasks.size());
  if (auto r = std::exchange(rewind_pending, std::nullopt))
    rewind(r->first, r->second);
}

void group_member_state::shutdown(caf::error reason) {
  if (closing)
    return;
  closing = true;
  failure = std::move(reason);
  metrics->state = failure ? instance_state::failed : instance_state::closing;
  if (failure)
    spdlog::error("stopping without committing failed work: {}", to_string(failure));
  else
    spdlog::info("shutting down: final commit and leaving group '{}'", config->application_id);
  waker.reset(); // nothing more to fetch
  // Closing revokes every partition through the rebalance callback, which commits.
  rd_kafka_consumer_close(consumer);
  for (auto& [name, task] : tasks)
    self->send_exit(task.actor, caf::exit_reason::user_shutdown);
  tasks.clear();
  self->quit(failure);
}

} // namespace

group_member_actor::behavior_type group_member_behavior(group_member_actor::stateful_pointer<group_member_state> self,
                                                        topology topo, const streams_config* config,
                                                        record_collector* collector,
                                                        record_collector* outside_collector, instance_metrics* metrics,
                                                        const std::map<std::string, int32_t>* partitions,
                                                        std::shared_ptr<const store_resources> shared) {
  auto& st = self->state;
  st.self = self;
  st.topo = std::move(topo);
  st.config = config;
  st.collector = collector;
  st.outside_collector = outside_collector;
  st.metrics = metrics;
  st.partitions = partitions;
  st.shared = std::move(shared);
  try {
    st.start();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    self->quit(to_caf_error({errc::processing_failed, e.what()}));
    return group_member_actor::behavior_type::make_empty_behavior();
  }
  self->set_down_handler([self](caf::down_msg& m) {
    if (m.reason && m.reason != caf::exit_reason::user_shutdown)
      self->state.shutdown(m.reason);
  });
  self->send(self, poll_atom::value);
  self->delayed_send(self, std::chrono::milliseconds(config->commit_interval()), commit_atom::value);
  return {
    [=](poll_atom) {
      if (self->state.closing)
        return;
      self->state.abort_failed_transaction();
      if (self->state.poll() == 0)
        self->state.wait(); // blocks this (detached) actor's thread only; messages wait at most 10 ms
      self->send(self, poll_atom::value);
    },
    [=](credit_atom, uint64_t slot, int64_t records, int64_t bytes) { self->state.on_credit(slot, records, bytes); },
    [=](commit_atom) {
      if (self->state.closing)
        return;
      self->state.commit_all();
      self->delayed_send(self, std::chrono::milliseconds(self->state.config->commit_interval()), commit_atom::value);
    },
    [=](shutdown_atom) { self->state.shutdown(caf::none); },
  };
}

group_member_actor spawn_group_member(caf::actor_system& sys, topology topo, const streams_config* config,
                                      record_collector* collector, record_collector* outside_collector,
                                      instance_metrics* metrics, const std::map<std::string, int32_t>* partitions,
                                      std::shared_ptr<const store_resources> shared) {
  return sys.spawn<caf::detached>(group_member_behavior, std::move(topo), config, collector, outside_collector, metrics,
                                  partitions, std::move(shared));
}

} // namespace sluice
