#include "actors/record_collector.hpp"

#include "actors/internal_topics.hpp"
#include "actors/kafka_client.hpp"
#include "actors/messages.hpp"

#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include <stdexcept>

namespace sluice {

void delivery_epoch::close(uint64_t marker) {
  marker_ = marker;
  release(unclosed - sent_);
}

void delivery_epoch::delivered(const char* error, const rd_kafka_topic_t* topic, int64_t offset) {
  if (error) {
    caf::anon_send(owner_, delivery_failed_atom::value, std::string{error});
  } else if (topic && topic == tracked_) {
    auto seen = tracked_offset_.load(std::memory_order_relaxed);
    while (offset > seen && !tracked_offset_.compare_exchange_weak(seen, offset, std::memory_order_relaxed)) {
    }
  }
  release(1);
}

void delivery_epoch::release(int64_t by) {
  if (pending_.fetch_sub(by, std::memory_order_acq_rel) == by) {
    caf::anon_send(owner_, epoch_acked_atom::value, marker_, tracked_offset_.load(std::memory_order_relaxed));
    delete this;
  }
}

void apply_kafka_settings(rd_kafka_conf_t* conf, const std::map<std::string, std::string>& settings) {
  char err[512];
  for (const auto& [k, v] : settings)
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK)
      throw std::runtime_error("librdkafka setting '" + k + "': " + err);
}

bool skips_production_failure(rd_kafka_resp_err_t error, exception_handler handler, bool changelog) {
  if (handler != exception_handler::log_and_continue || changelog)
    return false;
  switch (error) {
  case RD_KAFKA_RESP_ERR__FATAL: // the idempotent producer cannot go on
  case RD_KAFKA_RESP_ERR__FENCED:
  case RD_KAFKA_RESP_ERR_PRODUCER_FENCED:
  case RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH:
  case RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER:
  case RD_KAFKA_RESP_ERR__AUTHENTICATION:
  case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
  case RD_KAFKA_RESP_ERR__SSL:
  case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
  case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
  case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
  case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
  case RD_KAFKA_RESP_ERR__DESTROY: // shutting down: the record is not lost, it is reprocessed
    return false;
  default: // e.g. MSG_SIZE_TOO_LARGE, INVALID_RECORD, _MSG_TIMED_OUT, _UNKNOWN_TOPIC: this record only
    return true;
  }
}

void record_collector::on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* epoch = static_cast<delivery_epoch*>(m->_private);
  if (!epoch)
    return;
  if (!m->err) {
    epoch->delivered(nullptr, m->rkt, m->offset);
    return;
  }
  auto* self = static_cast<record_collector*>(opaque);
  if (self->transactions_) {
    // Any failed record fails its transaction's commit (librdkafka makes it abortable), which
    // aborts it and starts its tasks again: the task itself goes on. Purged records are those
    // of an aborted transaction.
    if (m->err != RD_KAFKA_RESP_ERR__PURGE_QUEUE && m->err != RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
      self->transaction_failed(std::string{rd_kafka_err2str(m->err)} + " (topic " + rd_kafka_topic_name(m->rkt) + ")");
    epoch->delivered(nullptr);
    return;
  }
  std::string what = std::string{rd_kafka_err2str(m->err)} + " (topic " + rd_kafka_topic_name(m->rkt) + ")";
  if (skips_production_failure(m->err, self->production_handler_, epoch->tracks(m->rkt))) {
    spdlog::warn("delivery failed: {}; record skipped (default.production.exception.handler=log_and_continue)", what);
    epoch->delivered(nullptr);
  } else {
    spdlog::error("delivery failed: {}", what);
    epoch->delivered(what.c_str());
  }
}

namespace {

void on_error(rd_kafka_t*, int err, const char* reason, void*) {
  auto code = static_cast<rd_kafka_resp_err_t>(err);
  if (code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || code == RD_KAFKA_RESP_ERR__TRANSPORT)
    spdlog::warn("producer: {} (retrying)", reason);
  else
    spdlog::error("producer: {}", reason);
}

} // namespace

const std::map<std::string, std::string>& producer_defaults() {
  static const std::map<std::string, std::string> defaults{
    {"enable.idempotence", "true"},
    {"partitioner", "murmur2_random"},
    {"compression.type", "lz4"},
    {"linger.ms", "5"},
    {"queue.buffering.max.messages", "1000000"},
  };
  return defaults;
}

record_collector::record_collector(const streams_config& config, const std::string& transactional_id)
    : production_handler_(config.production_handler), purge_interval_ms_(config.repartition_purge_interval_ms),
      transactional_id_(transactional_id) {
  auto own = producer_defaults();
  own.insert({{"bootstrap.servers", config.bootstrap_servers}, {"client.id", config.application_id + "-producer"}});
  settings_ = {std::move(own), {}, config.kafka_common, config.kafka_producer};
  if (!transactional_id.empty()) // a crashed instance's open transaction holds readers back this long at most
    settings_[1] = {{"transactional.id", transactional_id}, {"transaction.timeout.ms", "10000"}};
  start_producer();
  if (transactional_id.empty())
    return;
  try {
    start_transactions();
  } catch (...) {
    stop_producer();
    throw;
  }
  spdlog::info("exactly-once: transactional.id '{}'", transactional_id);
}

void record_collector::start_producer() {
  producer_ = make_kafka_client(RD_KAFKA_PRODUCER, settings_, "producer", [this](rd_kafka_conf_t* conf) {
                rd_kafka_conf_set_opaque(conf, this);
                rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
                rd_kafka_conf_set_error_cb(conf, on_error);
              }).release(); // destroyed by stop_producer
  stop_ = false;
  poller_ = std::thread{[this] {
    while (!stop_.load(std::memory_order_relaxed))
      rd_kafka_poll(producer_, 100);
  }};
}

void record_collector::start_transactions() {
  // Shorter than max.poll.interval.ms: the group member blocks in these calls.
  transactions_.emplace(producer_, std::chrono::seconds(10));
  try {
    transactions_->init();
  } catch (const std::exception& e) {
    throw std::runtime_error("transactional.id '" + transactional_id_ + "': " + e.what());
  }
}

void record_collector::start_purger() {
  if (cluster_.admin_api && !repartition_topics_.empty())
    purger_ = std::make_unique<repartition_purger>(producer_, repartition_topics_,
                                                   std::chrono::milliseconds{purge_interval_ms_});
}

void record_collector::stop_producer() {
  purger_.reset();
  stop_ = true;
  poller_.join();
  {
    std::lock_guard lock{topics_mutex_};
    for (auto& [name, t] : topics_)
      rd_kafka_topic_destroy(t);
    topics_.clear();
  }
  rd_kafka_destroy(producer_);
  producer_ = nullptr;
}

transaction_result record_collector::renew_producer() {
  std::unique_lock gate{gate_};
  generation_.fetch_add(1, std::memory_order_release);
  // What the fenced producer still holds is discarded (its reports complete the epochs).
  rd_kafka_purge(producer_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_flush(producer_, 1000);
  stop_producer();
  try {
    start_producer();
    start_transactions();
  } catch (const std::exception& e) {
    return {transaction_outcome::fatal, e.what()};
  }
  start_purger();
  return {transaction_outcome::aborted, {}}; // the fenced producer's transaction is gone
}

record_collector::~record_collector() {
  purger_.reset();
  if (rd_kafka_flush(producer_, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR)
    spdlog::warn("producer: {} records not delivered at shutdown", rd_kafka_outq_len(producer_));
  if (transactions_ && transactions_->open()) // what the last commit did not cover
    if (auto r = transactions_->abort(); r.outcome == transaction_outcome::fatal)
      spdlog::warn("producer: {}", r.reason);
  stop_producer();
}

int64_t record_collector::queue_length() {
  std::shared_lock gate{gate_};
  return rd_kafka_outq_len(producer_);
}

rd_kafka_topic_t* record_collector::topic(const std::string& name) {
  // Never while renew_producer swaps the producer: a handle made then would name the old one.
  std::shared_lock gate{gate_};
  std::lock_guard lock{topics_mutex_};
  auto& t = topics_[name];
  if (!t)
    t = rd_kafka_topic_new(producer_, name.c_str(), nullptr);
  return t;
}

rd_kafka_resp_err_t record_collector::send(rd_kafka_topic_t* topic, const outgoing& r, delivery_epoch* epoch) {
  if (!transactions_)
    return produce(topic, r, epoch);
  std::shared_lock gate{gate_, std::try_to_lock}; // a transaction ending: try again later
  if (!gate || (epoch && epoch->generation() != generation_.load(std::memory_order_relaxed)))
    return RD_KAFKA_RESP_ERR__QUEUE_FULL;
  return produce(topic, r, epoch);
}

transaction_result record_collector::commit_transaction(const rd_kafka_topic_partition_list_t* offsets,
                                                        rd_kafka_t* consumer) {
  auto* group = rd_kafka_consumer_group_metadata(consumer);
  std::unique_lock gate{gate_};
  auto r = transactions_->commit(offsets, group);
  rd_kafka_consumer_group_metadata_destroy(group);
  if (r.outcome != transaction_outcome::committed)
    generation_.fetch_add(1, std::memory_order_release);
  else if (offsets)
    committed(offsets);
  return r;
}

void record_collector::transaction_failed(const std::string& what) {
  const auto generation = generation_.load(std::memory_order_relaxed);
  std::lock_guard lock{failure_mutex_};
  if (failure_reported_.load(std::memory_order_relaxed) == generation + 1)
    return; // once per transaction generation
  failure_reason_ = what;
  failure_reported_.store(generation + 1, std::memory_order_release);
  spdlog::warn("exactly-once: a record failed: {}; the transaction will abort and its tasks start again from "
               "the last commit",
               what);
}

std::optional<std::string> record_collector::transaction_failure() const {
  if (failure_reported_.load(std::memory_order_acquire) != generation() + 1)
    return std::nullopt;
  std::lock_guard lock{failure_mutex_};
  return "a record failed: " + failure_reason_;
}

transaction_result record_collector::abort_transaction() {
  std::unique_lock gate{gate_};
  generation_.fetch_add(1, std::memory_order_release);
  return transactions_->abort();
}

rd_kafka_resp_err_t record_collector::produce(rd_kafka_topic_t* topic, const outgoing& r, delivery_epoch* epoch) {
  if (epoch)
    epoch->add();
  auto err = rd_kafka_producev(
    producer_, RD_KAFKA_V_RKT(topic), RD_KAFKA_V_PARTITION(r.partition), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
    RD_KAFKA_V_KEY(r.key_is_null ? nullptr : r.key.data(), r.key_is_null ? 0 : r.key.size()),
    RD_KAFKA_V_VALUE(r.value_is_null ? nullptr : const_cast<char*>(r.value.data()),
                     r.value_is_null ? 0 : r.value.size()),
    RD_KAFKA_V_TIMESTAMP(r.timestamp), RD_KAFKA_V_HEADERS(r.headers), RD_KAFKA_V_OPAQUE(epoch), RD_KAFKA_V_END);
  if (!err || err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
    if (err && epoch)
      epoch->withdraw(); // not enqueued: the caller tries again
    return err;
  }
  const bool changelog = epoch && epoch->tracks(topic);
  if (epoch)
    epoch->withdraw();
  if (transactions_ && (err == RD_KAFKA_RESP_ERR__STATE || err == RD_KAFKA_RESP_ERR__FATAL ||
                        err == RD_KAFKA_RESP_ERR__FENCED)) { // the transaction is broken: its commit fails
    transaction_failed(std::string{"cannot produce to "} + rd_kafka_topic_name(topic) + ": " + rd_kafka_err2str(err));
    if (r.headers)
      rd_kafka_headers_destroy(r.headers);
    return RD_KAFKA_RESP_ERR_NO_ERROR;
  }
  const auto what = std::string{"cannot produce to "} + rd_kafka_topic_name(topic) + ": " + rd_kafka_err2str(err);
  if (!skips_production_failure(err, production_handler_, changelog))
    throw production_error(what);
  spdlog::warn("{}; record skipped (default.production.exception.handler=log_and_continue)", what);
  if (r.headers)
    rd_kafka_headers_destroy(r.headers); // librdkafka did not take them
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

void record_collector::set_cluster(cluster_info cluster, const std::vector<std::string>& repartition_topics) {
  cluster_ = std::move(cluster);
  repartition_topics_ = {repartition_topics.begin(), repartition_topics.end()};
  start_purger();
}

void record_collector::committed(const rd_kafka_topic_partition_list_t* offsets) {
  if (purger_)
    purger_->committed(offsets);
}

} // namespace sluice
