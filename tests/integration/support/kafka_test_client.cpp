#include "kafka_test_client.hpp"

#include "actors/kafka_client.hpp"

#include <functional>
#include <set>
#include <stdexcept>
#include <thread>

namespace sluice::test {

namespace {

using std::chrono::steady_clock;

// A client of `type` with `settings`, `prepare` run on its configuration; throws
// std::runtime_error naming the bad setting or librdkafka's reason.
rd_kafka_t* make_client(rd_kafka_type_t type, const std::map<std::string, std::string>& settings,
                        const std::function<void(rd_kafka_conf_t*)>& prepare = {}) {
  return sluice::make_kafka_client(type, {settings}, "kafka_test_client", prepare).release();
}

// Partition count of `topic` as seen by `rk`, retrying until `timeout`; throws on failure.
int topic_partitions(rd_kafka_t* rk, const std::string& topic, std::chrono::milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  std::string last_error = "timed out";
  for (;;) {
    const rd_kafka_metadata_t* metadata = nullptr;
    const auto err = rd_kafka_metadata(rk, 0, rkt, &metadata, 2000);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      int count = 0;
      for (int i = 0; i < metadata->topic_cnt; ++i) {
        if (topic == metadata->topics[i].topic) {
          if (metadata->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR)
            count = metadata->topics[i].partition_cnt;
          else
            last_error = rd_kafka_err2str(metadata->topics[i].err);
        }
      }
      rd_kafka_metadata_destroy(metadata);
      if (count > 0) {
        rd_kafka_topic_destroy(rkt);
        return count;
      }
    } else {
      last_error = rd_kafka_err2str(err);
    }
    if (steady_clock::now() >= deadline)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  rd_kafka_topic_destroy(rkt);
  throw std::runtime_error("kafka_test_client: no metadata for topic " + topic + ": " + last_error);
}

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  auto& summary = *static_cast<delivery_summary*>(opaque);
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++summary.delivered;
  } else if (summary.failed++ == 0) {
    summary.first_error = rd_kafka_err2str(message->err);
  }
}

std::optional<std::string> bytes(const void* data, size_t size) {
  if (data == nullptr)
    return std::nullopt;
  return std::string(static_cast<const char*>(data), size);
}

} // namespace

kafka_test_producer::kafka_test_producer(const std::string& bootstrap_servers,
                                         const std::map<std::string, std::string>& config) {
  std::map<std::string, std::string> settings = {
    {"bootstrap.servers", bootstrap_servers}, {"enable.idempotence", "true"}, {"linger.ms", "5"}};
  for (const auto& [name, value] : config)
    settings[name] = value;
  rk_ = make_client(RD_KAFKA_PRODUCER, settings, [this](rd_kafka_conf_t* conf) {
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, &summary_);
  });
}

kafka_test_producer::~kafka_test_producer() { rd_kafka_destroy(rk_); }

void kafka_test_producer::send(const std::string& topic, const outgoing_record& record) {
  for (;;) {
    rd_kafka_headers_t* headers = nullptr;
    if (!record.headers.empty()) {
      headers = rd_kafka_headers_new(record.headers.size());
      for (const auto& [name, value] : record.headers)
        rd_kafka_header_add(headers, name.data(), static_cast<ssize_t>(name.size()), value.data(),
                            static_cast<ssize_t>(value.size()));
    }
    const void* key = record.key ? record.key->data() : nullptr;
    const size_t key_size = record.key ? record.key->size() : 0;
    void* value = record.value ? const_cast<char*>(record.value->data()) : nullptr;
    const size_t value_size = record.value ? record.value->size() : 0;
    const auto err = rd_kafka_producev(
      rk_, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(record.partition), RD_KAFKA_V_KEY(key, key_size),
      RD_KAFKA_V_VALUE(value, value_size), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_TIMESTAMP(record.timestamp_ms), RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
      break;
    if (headers != nullptr)
      rd_kafka_headers_destroy(headers); // ownership passes to librdkafka only on success
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
      throw std::runtime_error("kafka_test_producer: cannot produce to " + topic + ": " + rd_kafka_err2str(err));
    rd_kafka_poll(rk_, 100);
  }
  rd_kafka_poll(rk_, 0);
}

delivery_summary kafka_test_producer::flush(std::chrono::milliseconds timeout) {
  rd_kafka_flush(rk_, static_cast<int>(timeout.count()));
  return summary();
}

delivery_summary kafka_test_producer::summary() {
  rd_kafka_poll(rk_, 0);
  auto result = summary_;
  result.pending = static_cast<std::size_t>(rd_kafka_outq_len(rk_));
  return result;
}

kafka_test_client::kafka_test_client(std::string bootstrap_servers, std::map<std::string, std::string> config)
    : bootstrap_servers_(std::move(bootstrap_servers)), config_(std::move(config)) {}

void kafka_test_client::produce(const std::string& topic,
                                const std::vector<std::pair<std::string, std::string>>& records,
                                std::chrono::milliseconds timeout) const {
  std::vector<outgoing_record> full;
  full.reserve(records.size());
  for (const auto& [key, value] : records)
    full.push_back({key, value});
  produce(topic, full, timeout);
}

void kafka_test_client::produce(const std::string& topic, const std::vector<outgoing_record>& records,
                                std::chrono::milliseconds timeout) const {
  kafka_test_producer producer(bootstrap_servers_, config_);
  for (const auto& record : records)
    producer.send(topic, record);
  const auto summary = producer.flush(timeout);
  if (summary.failed > 0)
    throw std::runtime_error("kafka_test_client: " + std::to_string(summary.failed) + " of " +
                             std::to_string(records.size()) + " records to " + topic +
                             " failed: " + summary.first_error);
  if (summary.pending > 0)
    throw std::runtime_error("kafka_test_client: " + std::to_string(summary.pending) + " records to " + topic +
                             " still undelivered after the timeout");
}

std::vector<consumed_record> kafka_test_client::consume(const std::string& topic,
                                                        const consume_options& options) const {
  std::map<std::string, std::string> settings = {
    {"bootstrap.servers", bootstrap_servers_},
    {"group.id", "sluice-test-reader"}, // required by librdkafka; no group is joined (assign())
    {"enable.auto.commit", "false"},
    {"enable.partition.eof", options.stop_at_end ? "true" : "false"},
    {"isolation.level", options.isolation_level}};
  for (const auto& [name, value] : config_)
    settings[name] = value;
  rd_kafka_t* rk = make_client(RD_KAFKA_CONSUMER, settings);
  rd_kafka_poll_set_consumer(rk);

  std::vector<consumed_record> records;
  try {
    const int partitions = topic_partitions(rk, topic, options.total_timeout);
    rd_kafka_topic_partition_list_t* assignment = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; ++p)
      rd_kafka_topic_partition_list_add(assignment, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    const auto err = rd_kafka_assign(rk, assignment);
    rd_kafka_topic_partition_list_destroy(assignment);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
      throw std::runtime_error(std::string("kafka_test_client: assign failed: ") + rd_kafka_err2str(err));

    const auto start = steady_clock::now();
    auto last_record = start;
    bool idle_counts = !options.stop_at_end; // with stop_at_end: from the first record or end read
    std::set<std::int32_t> at_end;
    while (records.size() < options.max_records) {
      const auto now = steady_clock::now();
      if (now - start >= options.total_timeout || (idle_counts && now - last_record >= options.idle_timeout))
        break;
      rd_kafka_message_t* message = rd_kafka_consumer_poll(rk, 100);
      if (message == nullptr)
        continue;
      if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (!idle_counts)
          last_record = steady_clock::now();
        idle_counts = true;
        at_end.insert(message->partition);
        rd_kafka_message_destroy(message);
        if (static_cast<int>(at_end.size()) == partitions)
          break;
        continue;
      }
      if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) { // transient (e.g. broker down): keep polling
        rd_kafka_message_destroy(message);
        continue;
      }
      consumed_record record;
      record.key = bytes(message->key, message->key_len);
      record.value = bytes(message->payload, message->len);
      record.partition = message->partition;
      record.offset = message->offset;
      record.timestamp_ms = rd_kafka_message_timestamp(message, nullptr);
      rd_kafka_headers_t* headers = nullptr;
      if (rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name;
        const void* value;
        size_t size;
        for (size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i)
          record.headers.emplace_back(name, value ? std::string(static_cast<const char*>(value), size) : "");
      }
      at_end.erase(message->partition);
      rd_kafka_message_destroy(message);
      records.push_back(std::move(record));
      last_record = steady_clock::now();
      idle_counts = true;
    }
  } catch (...) {
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    throw;
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return records;
}

int kafka_test_client::partition_count(const std::string& topic, std::chrono::milliseconds timeout) const {
  std::map<std::string, std::string> settings = {{"bootstrap.servers", bootstrap_servers_}};
  for (const auto& [name, value] : config_)
    settings[name] = value;
  rd_kafka_t* rk = make_client(RD_KAFKA_PRODUCER, settings);
  try {
    const int count = topic_partitions(rk, topic, timeout);
    rd_kafka_destroy(rk);
    return count;
  } catch (...) {
    rd_kafka_destroy(rk);
    throw;
  }
}

std::int64_t kafka_test_client::committed_offset(const std::string& group, const std::string& topic,
                                                 std::int32_t partition) const {
  std::map<std::string, std::string> settings = {{"bootstrap.servers", bootstrap_servers_}, {"group.id", group}};
  for (const auto& [name, value] : config_)
    settings[name] = value;
  rd_kafka_t* rk = make_client(RD_KAFKA_CONSUMER, settings);
  auto* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic.c_str(), partition);
  const auto err = rd_kafka_committed(rk, list, 10000);
  const std::int64_t offset = list->elems[0].offset;
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_destroy(rk);
  if (err)
    throw std::runtime_error(std::string{"cannot read committed offsets: "} + rd_kafka_err2str(err));
  return offset;
}

} // namespace sluice::test
