// The transactions of a Kafka producer under exactly-once (docs/architecture.md, "Exactly-once"):
// one transaction is open at a time; a commit sends the consumed offsets with the consumer's group
// metadata into it and commits it; then the next one begins. A failure either aborts the
// transaction (the tasks then rewind to the last commit) or is fatal (the producer was fenced by
// another producer with the same transactional.id, or cannot go on).
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace sluice {

/// What an error of a transactional call asks for.
enum class transaction_step {
  retry, ///< the call may succeed if made again (a timeout, a coordinator moving)
  abort, ///< the transaction cannot commit: abort it and start over from the last commit
  fatal, ///< the producer cannot go on (fenced, or in a state no call can repair)
};

/// The step librdkafka's flags on `error` ask for (fatal first, then abort, then retry); a
/// non-null error with no flag set is an abort.
transaction_step step_for(const rd_kafka_error_t* error);

/// How a commit or an abort ended.
enum class transaction_outcome {
  committed, ///< outputs and offsets are visible; the next transaction is open
  aborted,   ///< nothing of the transaction is visible; the next transaction is open
  fatal,     ///< the producer cannot go on; no transaction is open
};

/// A transaction's end, with what went wrong.
struct transaction_result {
  transaction_outcome outcome = transaction_outcome::committed;
  std::string reason; ///< empty when committed as asked
};

/// Drives the transactions of one transactional producer. Not thread-safe: one caller at a time,
/// and no record may be produced while a call runs (record_collector holds its gate for that).
class transaction_driver {
public:
  /// `producer` has a `transactional.id`; each call retries retriable errors for up to `timeout`.
  transaction_driver(rd_kafka_t* producer, std::chrono::milliseconds timeout);

  /// Registers the transactional.id with the cluster (fencing an earlier producer with the same
  /// id and aborting what it left open) and begins the first transaction; throws
  /// std::runtime_error when that fails.
  void init();

  /// Sends `offsets` (null or empty: none) of the consumer described by `group` into the open
  /// transaction, commits it and begins the next. An abortable failure aborts it (outcome
  /// aborted, with why).
  transaction_result commit(const rd_kafka_topic_partition_list_t* offsets,
                            const rd_kafka_consumer_group_metadata_t* group);

  /// Aborts the open transaction and begins the next.
  transaction_result abort();

  /// True between init() and a fatal outcome: a transaction is open.
  bool open() const { return open_; }

  /// Transactions committed (with or without offsets) and aborted so far.
  uint64_t commits() const { return commits_; }
  uint64_t aborts() const { return aborts_; }

private:
  /// Runs `call` until it succeeds, asks for something other than a retry, or the time is up.
  template <class Call>
  rd_kafka_error_t* retrying(Call call);
  transaction_result begin_next(transaction_outcome outcome, std::string reason);
  transaction_result fail(rd_kafka_error_t* error, const char* what);

  rd_kafka_t* producer_;
  std::chrono::milliseconds timeout_;
  bool open_ = false;
  uint64_t commits_ = 0, aborts_ = 0;
};

} // namespace sluice
