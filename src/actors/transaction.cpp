#include "actors/transaction.hpp"

#include <algorithm>
#include <stdexcept>

namespace sluice {

transaction_step step_for(const rd_kafka_error_t* error) {
  if (rd_kafka_error_is_fatal(error))
    return transaction_step::fatal;
  if (rd_kafka_error_txn_requires_abort(error))
    return transaction_step::abort;
  if (rd_kafka_error_is_retriable(error))
    return transaction_step::retry;
  return transaction_step::abort;
}

namespace {

/// Takes librdkafka's error object: its text, and destroys it.
std::string take_text(rd_kafka_error_t* e) {
  std::string text = rd_kafka_error_string(e);
  rd_kafka_error_destroy(e);
  return text;
}

} // namespace

transaction_driver::transaction_driver(rd_kafka_t* producer, std::chrono::milliseconds timeout)
    : producer_(producer), timeout_(timeout) {}

template <class Call>
rd_kafka_error_t* transaction_driver::retrying(Call call) {
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + timeout_;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
    auto* e = call(static_cast<int>(std::max<int64_t>(left, 1)));
    if (!e || step_for(e) != transaction_step::retry || clock::now() >= deadline)
      return e;
    rd_kafka_error_destroy(e);
  }
}

void transaction_driver::init() {
  if (auto* e = retrying([this](int ms) { return rd_kafka_init_transactions(producer_, ms); }))
    throw std::runtime_error("cannot start transactions: " + take_text(e));
  if (auto* e = rd_kafka_begin_transaction(producer_))
    throw std::runtime_error("cannot begin a transaction: " + take_text(e));
  open_ = true;
}

transaction_result transaction_driver::commit(const rd_kafka_topic_partition_list_t* offsets,
                                              const rd_kafka_consumer_group_metadata_t* group) {
  if (!open_)
    return {transaction_outcome::fatal, "no transaction is open"};
  if (offsets && offsets->cnt > 0)
    if (auto* e = retrying([&](int ms) { return rd_kafka_send_offsets_to_transaction(producer_, offsets, group, ms); }))
      return fail(e, "sending the consumed offsets into the transaction");
  if (auto* e = retrying([this](int ms) { return rd_kafka_commit_transaction(producer_, ms); }))
    return fail(e, "committing the transaction");
  ++commits_;
  return begin_next(transaction_outcome::committed, {});
}

transaction_result transaction_driver::abort() {
  if (!open_)
    return {transaction_outcome::fatal, "no transaction is open"};
  if (auto* e = retrying([this](int ms) { return rd_kafka_abort_transaction(producer_, ms); })) {
    open_ = false;
    return {transaction_outcome::fatal, "aborting the transaction: " + take_text(e)};
  }
  ++aborts_;
  return begin_next(transaction_outcome::aborted, {});
}

transaction_result transaction_driver::fail(rd_kafka_error_t* error, const char* what) {
  const auto step = step_for(error);
  auto reason = std::string{what} + ": " + take_text(error);
  if (step != transaction_step::fatal) { // abortable, or still retriable when the time was up
    auto aborted = abort();
    if (aborted.outcome == transaction_outcome::aborted)
      return {transaction_outcome::aborted, std::move(reason)};
    reason += "; then " + aborted.reason;
  }
  open_ = false;
  return {transaction_outcome::fatal, std::move(reason)};
}

transaction_result transaction_driver::begin_next(transaction_outcome outcome, std::string reason) {
  if (auto* e = rd_kafka_begin_transaction(producer_)) {
    open_ = false;
    return {transaction_outcome::fatal, "beginning the next transaction: " + take_text(e)};
  }
  return {outcome, std::move(reason)};
}

} // namespace sluice
