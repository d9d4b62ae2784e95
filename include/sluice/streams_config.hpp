// Configuration of a sluice instance, with Kafka Streams' names.
//
// Sources, each overriding the last: defaults, a properties file (`key=value` lines, `#` comments),
// environment variables (`SLUICE_` + the key upper-cased with `.` and `-` as `_`, e.g.
// SLUICE_APPLICATION_ID, SLUICE_KAFKA_SESSION_TIMEOUT_MS), then command-line flags (`--application-id`,
// or `--set key=value` for any key). Keys starting with `kafka.` pass through to librdkafka
// (both consumer and producer; `kafka.consumer.` / `kafka.producer.` for one of them); keys starting
// with `topic.` are topic configs of the internal topics sluice creates.
#pragma once

#include <sluice/topology/errors.hpp>

#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sluice {

/// At-least-once or exactly-once (`processing.guarantee`).
enum class processing_guarantee { at_least_once, exactly_once };

/// The settings of one instance. Each field's default is what an unconfigured app gets.
struct streams_config {
  /// `application.id`: consumer group, prefix of internal topics and of the state directory.
  std::string application_id = "sluice-app";
  /// `bootstrap.servers`: the embedded broker's default address.
  std::string bootstrap_servers = "localhost:9092";
  /// `state.dir`: where task state lives (one folder per application).
  std::string state_dir = "/tmp/sluice";
  /// `commit.interval.ms`: how often source offsets are committed; bounds reprocessing after a crash
  /// (at-least-once) and how long outputs wait to become visible (exactly-once). Unset: see commit_interval().
  std::optional<int64_t> commit_interval_ms;
  /// `processing.guarantee`: exactly_once_v2 (alias exactly_once) runs every commit as a Kafka
  /// transaction; real on Kafka clusters (0.11+), not on the embedded broker (docs/configuration.md).
  processing_guarantee guarantee = processing_guarantee::at_least_once;
  /// `default.deserialization.exception.handler`: bad input never stops a partition by default.
  exception_handler deserialization_handler = exception_handler::log_and_continue;
  /// `default.processing.exception.handler`: a throwing operator dead-letters the record by default.
  exception_handler processing_handler = exception_handler::log_and_continue;
  /// `default.production.exception.handler`: an output the broker refuses fails the task by default
  /// (log_and_continue skips it); never dead-lettered: the input record was fine.
  exception_handler production_handler = exception_handler::log_and_fail;
  /// `replication.factor`: of the internal topics sluice creates; -1 = the broker's
  /// default.replication.factor (brokers before 2.4 get that value, read from the broker).
  int64_t replication_factor = -1;
  /// `windowstore.changelog.additional.retention.ms`: a window changelog keeps records this much
  /// longer than its store keeps windows (clock drift, restores that take a while).
  int64_t windowstore_changelog_additional_retention_ms = 24 * 60 * 60 * 1000;
  /// `repartition.purge.interval.ms`: how often consumed repartition records are deleted (DeleteRecords).
  int64_t repartition_purge_interval_ms = 30000;
  /// `group.instance.id`: static membership (brokers 2.3+): a restart within session.timeout.ms keeps
  /// this instance's partitions without a rebalance. Unique per instance; "" = dynamic membership.
  std::string group_instance_id;
  /// `application.server`: "host:port" of this instance's HTTP endpoint (metrics, health, state
  /// queries, the live page); "" = no HTTP. Port 0 takes a free port. A host of localhost or
  /// 127.x listens on loopback only, any other on every interface; the value is what other
  /// instances are told to reach this one at.
  std::string application_server;
  /// `num.standby.replicas`: how many other instances keep a warm copy of each task's stores,
  /// following its changelog up to the last commit, so that a task moving to one of them restores
  /// only what was committed since. 0 = none (a moved task restores its stores in full).
  int64_t num_standby_replicas = 0;
  /// `cache.max.bytes.buffering`: per instance (all stores' caches share it), bytes of store updates
  /// coalesced between commits; 0 = write through.
  int64_t cache_max_bytes_buffering = 10 * 1024 * 1024;
  /// `state.block.cache.max.bytes`: per instance (every LevelDB store shares it), bytes of table
  /// blocks kept in memory for reads; 0 = none (each read goes to the file).
  int64_t state_block_cache_max_bytes = 8 * 1024 * 1024;
  /// `input.buffer.max.bytes`: bytes of consumed records handed to tasks and not yet processed, for
  /// the whole instance (key + value + 256 of bookkeeping each); each assigned partition gets an equal share.
  int64_t input_buffer_max_bytes = 16 * 1024 * 1024;
  /// `max.batch.records`: most records handed to a task at once; larger batches amortise messaging.
  int64_t max_batch_records = 2000;
  /// `idle.timeout.ms`: an input partition caught up and silent this long stops holding the
  /// watermark back (Flink's withIdleness); -1 = never. Event time never comes from the clock.
  int64_t idle_timeout_ms = 5000;
  /// `memory.trim.interval.ms`: how often the allocator's free memory goes back to the system
  /// (glibc's malloc_trim), so that the resident set follows live memory; 0 = never.
  int64_t memory_trim_interval_ms = 10000;
  /// `num.stream.threads`: actor scheduler threads (0 = one per core).
  int64_t num_stream_threads = 0;
  /// `log.level`: trace, debug, info, warn, error.
  std::string log_level = "info";
  /// `kafka.*`, `kafka.consumer.*`, `kafka.producer.*` with the prefix removed.
  std::map<std::string, std::string> kafka_common, kafka_consumer, kafka_producer;
  /// `topic.*` with the prefix removed: topic configs of every internal topic sluice creates
  /// (`topic.min.insync.replicas=2`), over sluice's own per-kind settings.
  std::map<std::string, std::string> topic_configs;

  /// `commit.interval.ms` as set, else 100 under exactly-once and 5000 under at-least-once (as Kafka Streams).
  int64_t commit_interval() const {
    return commit_interval_ms.value_or(guarantee == processing_guarantee::exactly_once ? 100 : 5000);
  }

  /// The value of `key` (any known key or a kafka.* key) as a string; throws std::out_of_range.
  std::string get(const std::string& key) const;

  /// Sets `key` from a string, validating it; throws std::invalid_argument with a clear message.
  void set(const std::string& key, const std::string& value);

  /// Applies a properties file; throws std::runtime_error naming the file and line.
  void load_file(const std::string& path);

  /// Applies properties text read from `in`; throws std::runtime_error naming `source` and the line.
  void load_properties(std::istream& in, const std::string& source);

  /// Applies `SLUICE_*` variables from the environment.
  void load_environment();
};

/// A known configuration key, its default and what it does (for --help and docs).
struct config_key {
  std::string name;
  std::string default_value;
  std::string doc;
};

/// Every known key, in documentation order.
const std::vector<config_key>& config_keys();

} // namespace sluice
