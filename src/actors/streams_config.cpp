#include <sluice/streams_config.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

extern char** environ;

namespace sluice {

namespace {

int64_t parse_int(const std::string& key, const std::string& v, int64_t min) {
  size_t used = 0;
  int64_t x = 0;
  try {
    x = std::stoll(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != v.size() || v.empty())
    throw std::invalid_argument(key + " must be an integer, got '" + v + "'");
  if (x < min)
    throw std::invalid_argument(key + " must be at least " + std::to_string(min) + ", got " + v);
  return x;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  auto e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string env_name(const std::string& key) {
  std::string out = "SLUICE_";
  for (char c : key)
    out += (c == '.' || c == '-') ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

const char* guarantee_name(processing_guarantee g) {
  return g == processing_guarantee::exactly_once ? "exactly_once_v2" : "at_least_once";
}

const char* handler_name(exception_handler h) {
  return h == exception_handler::log_and_fail ? "log_and_fail" : "log_and_continue";
}

} // namespace

const std::vector<config_key>& config_keys() {
  static const std::vector<config_key> keys = [] {
    streams_config d;
    return std::vector<config_key>{
      {"application.id", d.application_id, "consumer group, prefix of internal topics and state"},
      {"bootstrap.servers", d.bootstrap_servers, "Kafka brokers (the embedded broker listens on 9092)"},
      {"state.dir", d.state_dir, "directory for task state"},
      {"commit.interval.ms", std::to_string(d.commit_interval()),
       "how often source offsets are committed (100 by default under exactly_once_v2)"},
      {"processing.guarantee", guarantee_name(d.guarantee),
       "at_least_once or exactly_once_v2 (alias exactly_once: Kafka transactions; on the embedded broker "
       "transactions are not real: no markers, no fencing, read_committed sees aborted data)"},
      {"default.deserialization.exception.handler", handler_name(d.deserialization_handler),
       "log_and_continue (bad record to <application.id>-dlq) or log_and_fail"},
      {"default.processing.exception.handler", handler_name(d.processing_handler),
       "log_and_continue (failed record to <application.id>-dlq) or log_and_fail"},
      {"default.production.exception.handler", handler_name(d.production_handler),
       "log_and_fail (an output the broker refuses stops the task) or log_and_continue (skip it)"},
      {"replication.factor", std::to_string(d.replication_factor),
       "replication factor of internal topics sluice creates (-1 = the broker's default.replication.factor)"},
      {"windowstore.changelog.additional.retention.ms", std::to_string(d.windowstore_changelog_additional_retention_ms),
       "window changelogs keep records this much longer than their store keeps windows"},
      {"repartition.purge.interval.ms", std::to_string(d.repartition_purge_interval_ms),
       "how often consumed repartition records are deleted"},
      {"group.instance.id", d.group_instance_id,
       "static membership (brokers 2.3+): unique per instance; empty = dynamic membership"},
      {"application.server", d.application_server,
       "host:port of this instance's HTTP endpoint (/metrics, /health, /stores, the live page); empty = none"},
      {"num.standby.replicas", std::to_string(d.num_standby_replicas),
       "warm copies of each task's stores kept by other instances, so a moved task restores only the tail"},
      {"cache.max.bytes.buffering", std::to_string(d.cache_max_bytes_buffering),
       "bytes of updates each key-value store coalesces between commits (0 = write through)"},
      {"state.block.cache.max.bytes", std::to_string(d.state_block_cache_max_bytes),
       "bytes of LevelDB table blocks cached for reads, shared by every store of the instance (0 = none)"},
      {"input.buffer.max.bytes", std::to_string(d.input_buffer_max_bytes),
       "bytes of consumed records in flight inside the instance, shared equally by its partitions"},
      {"max.batch.records", std::to_string(d.max_batch_records), "most records handed to a task at once"},
      {"idle.timeout.ms", std::to_string(d.idle_timeout_ms),
       "an input partition caught up and silent this long stops holding the watermark back (-1 = never)"},
      {"memory.trim.interval.ms", std::to_string(d.memory_trim_interval_ms),
       "how often freed memory goes back to the system, so that RSS follows live memory (0 = never)"},
      {"num.stream.threads", std::to_string(d.num_stream_threads), "actor scheduler threads (0 = one per core)"},
      {"log.level", d.log_level, "trace, debug, info, warn or error"},
    };
  }();
  return keys;
}

std::string streams_config::get(const std::string& key) const {
  if (key == "application.id")
    return application_id;
  if (key == "bootstrap.servers")
    return bootstrap_servers;
  if (key == "state.dir")
    return state_dir;
  if (key == "commit.interval.ms")
    return std::to_string(commit_interval());
  if (key == "processing.guarantee")
    return guarantee_name(guarantee);
  if (key == "default.deserialization.exception.handler")
    return handler_name(deserialization_handler);
  if (key == "default.processing.exception.handler")
    return handler_name(processing_handler);
  if (key == "default.production.exception.handler")
    return handler_name(production_handler);
  if (key == "replication.factor")
    return std::to_string(replication_factor);
  if (key == "windowstore.changelog.additional.retention.ms")
    return std::to_string(windowstore_changelog_additional_retention_ms);
  if (key == "repartition.purge.interval.ms")
    return std::to_string(repartition_purge_interval_ms);
  if (key == "group.instance.id")
    return group_instance_id;
  if (key == "application.server")
    return application_server;
  if (key == "num.standby.replicas")
    return std::to_string(num_standby_replicas);
  if (key == "cache.max.bytes.buffering")
    return std::to_string(cache_max_bytes_buffering);
  if (key == "input.buffer.max.bytes")
    return std::to_string(input_buffer_max_bytes);
  if (key == "max.batch.records")
    return std::to_string(max_batch_records);
  if (key == "idle.timeout.ms")
    return std::to_string(idle_timeout_ms);
  if (key == "state.block.cache.max.bytes")
    return std::to_string(state_block_cache_max_bytes);
  if (key == "memory.trim.interval.ms")
    return std::to_string(memory_trim_interval_ms);
  if (key == "num.stream.threads")
    return std::to_string(num_stream_threads);
  if (key == "log.level")
    return log_level;
  for (auto [prefix, map] :
       {std::pair{"kafka.consumer.", &kafka_consumer}, std::pair{"kafka.producer.", &kafka_producer},
        std::pair{"kafka.", &kafka_common}, std::pair{"topic.", &topic_configs}})
    if (key.starts_with(prefix))
      return map->at(key.substr(std::string_view{prefix}.size()));
  throw std::out_of_range("unknown configuration key '" + key + "'");
}

void streams_config::set(const std::string& key, const std::string& value) {
  if (key == "application.id") {
    if (value.empty())
      throw std::invalid_argument("application.id must not be empty");
    application_id = value;
  } else if (key == "bootstrap.servers") {
    bootstrap_servers = value;
  } else if (key == "state.dir") {
    state_dir = value;
  } else if (key == "commit.interval.ms") {
    commit_interval_ms = parse_int(key, value, 1);
  } else if (key == "processing.guarantee") {
    if (value == "at_least_once")
      guarantee = processing_guarantee::at_least_once;
    else if (value == "exactly_once" || value == "exactly_once_v2")
      guarantee = processing_guarantee::exactly_once;
    else
      throw std::invalid_argument(
        "processing.guarantee must be at_least_once or exactly_once_v2 (alias exactly_once), got '" + value + "'");
  } else if (key == "default.deserialization.exception.handler") {
    deserialization_handler = parse_exception_handler(value);
  } else if (key == "default.processing.exception.handler") {
    processing_handler = parse_exception_handler(value);
  } else if (key == "default.production.exception.handler") {
    production_handler = parse_exception_handler(value);
  } else if (key == "replication.factor") {
    replication_factor = parse_int(key, value, -1);
    if (replication_factor == 0)
      throw std::invalid_argument("replication.factor must be -1 (the broker's default) or at least 1, got 0");
  } else if (key == "windowstore.changelog.additional.retention.ms") {
    windowstore_changelog_additional_retention_ms = parse_int(key, value, 0);
  } else if (key == "repartition.purge.interval.ms") {
    repartition_purge_interval_ms = parse_int(key, value, 1);
  } else if (key == "group.instance.id") {
    group_instance_id = value;
  } else if (key == "application.server") {
    if (!value.empty()) {
      const auto colon = value.rfind(':');
      if (colon == std::string::npos || colon == 0)
        throw std::invalid_argument("application.server must be host:port, got '" + value + "'");
      if (parse_int(key + "'s port", value.substr(colon + 1), 0) > 65535)
        throw std::invalid_argument("application.server's port must be at most 65535, got '" + value + "'");
    }
    application_server = value;
  } else if (key == "cache.max.bytes.buffering") {
    cache_max_bytes_buffering = parse_int(key, value, 0);
  } else if (key == "num.standby.replicas") {
    num_standby_replicas = parse_int(key, value, 0);
  } else if (key == "input.buffer.max.bytes") {
    input_buffer_max_bytes = parse_int(key, value, 1);
  } else if (key == "max.batch.records") {
    max_batch_records = parse_int(key, value, 1);
  } else if (key == "idle.timeout.ms") {
    idle_timeout_ms = parse_int(key, value, -1);
  } else if (key == "state.block.cache.max.bytes") {
    state_block_cache_max_bytes = parse_int(key, value, 0);
  } else if (key == "memory.trim.interval.ms") {
    memory_trim_interval_ms = parse_int(key, value, 0);
  } else if (key == "num.stream.threads") {
    num_stream_threads = parse_int(key, value, 0);
  } else if (key == "log.level") {
    static const char* levels[] = {"trace", "debug", "info", "warn", "error"};
    if (std::find(std::begin(levels), std::end(levels), value) == std::end(levels))
      throw std::invalid_argument("log.level must be trace, debug, info, warn or error, got '" + value + "'");
    log_level = value;
  } else if (key.starts_with("kafka.consumer.")) {
    kafka_consumer[key.substr(15)] = value;
  } else if (key.starts_with("kafka.producer.")) {
    kafka_producer[key.substr(15)] = value;
  } else if (key.starts_with("kafka.") && key.size() > 6) {
    kafka_common[key.substr(6)] = value;
  } else if (key.starts_with("topic.") && key.size() > 6) {
    topic_configs[key.substr(6)] = value;
  } else {
    throw std::invalid_argument(
      "unknown configuration key '" + key +
      "' (see --help; librdkafka settings take a kafka. prefix, internal topic configs topic.)");
  }
}

void streams_config::load_file(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    throw std::runtime_error("cannot read config file '" + path + "'");
  load_properties(in, path);
}

void streams_config::load_properties(std::istream& in, const std::string& path) {
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == '!')
      continue;
    auto eq = line.find_first_of("=:");
    if (eq == std::string::npos)
      throw std::runtime_error(path + ":" + std::to_string(n) + ": expected key=value");
    try {
      set(trim(line.substr(0, eq)), trim(line.substr(eq + 1)));
    } catch (const std::exception& e) {
      throw std::runtime_error(path + ":" + std::to_string(n) + ": " + e.what());
    }
  }
}

void streams_config::load_environment() {
  for (const auto& k : config_keys())
    if (const char* v = std::getenv(env_name(k.name).c_str()))
      set(k.name, v);
  // kafka.* and topic.* keys: SLUICE_KAFKA_SESSION_TIMEOUT_MS -> kafka.session.timeout.ms
  for (char** e = environ; e && *e; ++e) {
    std::string entry = *e;
    if (!entry.starts_with("SLUICE_KAFKA_") && !entry.starts_with("SLUICE_TOPIC_"))
      continue;
    auto eq = entry.find('=');
    std::string key = entry.substr(7, eq - 7);
    std::transform(key.begin(), key.end(), key.begin(), [](char c) {
      return c == '_' ? '.' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    });
    set(key, entry.substr(eq + 1));
  }
}

} // namespace sluice
