#include "offset_probe.hpp"

#include "test_helpers.hpp"

#include "actors/kafka_client.hpp"

#include <sluice/topology/event_time.hpp>

#include <algorithm>
#include <memory>
#include <stdexcept>

namespace sluice::test {

offset_probe::offset_probe(const std::string& bootstrap_servers) : bootstrap_servers_(bootstrap_servers) { connect(); }

void offset_probe::connect() {
  rk_ =
    make_kafka_client(RD_KAFKA_CONSUMER,
                      {{{"bootstrap.servers", bootstrap_servers_}, {"log_level", "3"}}}, // quiet while a broker is down
                      "offset probe")
      .release();
}

offset_probe::~offset_probe() { rd_kafka_destroy(rk_); }

std::int64_t offset_probe::end_offset_sum(const std::string& topic) {
  const auto sum = try_end_offset_sum(topic);
  if (sum < 0) {
    rd_kafka_destroy(rk_);
    rk_ = nullptr;
    connect();
  }
  return sum;
}

std::int64_t offset_probe::try_end_offset_sum(const std::string& topic) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk_, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* metadata = nullptr;
  const auto err = rd_kafka_metadata(rk_, 0, rkt, &metadata, 2000);
  rd_kafka_topic_destroy(rkt);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    return -1;
  int partitions = 0;
  if (metadata->topic_cnt == 1 && metadata->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
    partitions = metadata->topics[0].partition_cnt;
  rd_kafka_metadata_destroy(metadata);
  if (partitions == 0)
    return -1;
  std::int64_t sum = 0;
  for (int p = 0; p < partitions; ++p) {
    std::int64_t low = 0, high = 0;
    if (rd_kafka_query_watermark_offsets(rk_, topic.c_str(), p, &low, &high, 2000) != RD_KAFKA_RESP_ERR_NO_ERROR)
      return -1;
    sum += high;
  }
  return sum;
}

namespace {

using partition_list =
  std::unique_ptr<rd_kafka_topic_partition_list_t, decltype(&rd_kafka_topic_partition_list_destroy)>;

partition_list new_partition_list() {
  return {rd_kafka_topic_partition_list_new(16), rd_kafka_topic_partition_list_destroy};
}

// An internal topic of `group`'s: a repartition topic or an alerts topic, which carry watermark
// announcements beside the records.
bool internal_topic_of(const std::string& group, const std::string& topic) {
  return topic.starts_with(group + "-") && (topic.ends_with("-repartition") || topic.ends_with("-alerts"));
}

// True when every record of `tail` (partitions of internal topics, each from its committed offset
// to its end) is a watermark announcement: writers add those at every commit, so a group that
// processed everything still trails the end of its internal topics by a few of them.
bool only_announcements(rd_kafka_t* reader, rd_kafka_topic_partition_list_t* tail) {
  if (tail->cnt == 0)
    return true;
  if (rd_kafka_assign(reader, tail) != RD_KAFKA_RESP_ERR_NO_ERROR)
    return false;
  int open = tail->cnt;
  bool only = true;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
  while (only && open > 0 && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(reader, 100);
    if (m == nullptr)
      continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      --open;
    } else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_headers_t* headers = nullptr;
      const void* value = nullptr;
      size_t size = 0;
      only = rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR &&
             rd_kafka_header_get_last(headers, watermark_header.data(), &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
    } else {
      only = false;
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_assign(reader, nullptr);
  return only && open == 0;
}

} // namespace

bool offset_probe::consumed_to_end(const std::string& group, const std::vector<std::string>& inputs) {
  const rd_kafka_metadata_t* metadata = nullptr;
  if (rd_kafka_metadata(rk_, 1, nullptr, &metadata, 2000) != RD_KAFKA_RESP_ERR_NO_ERROR)
    return false;
  auto parts = new_partition_list();
  std::size_t found_inputs = 0;
  for (int t = 0; t < metadata->topic_cnt; ++t) {
    const std::string name = metadata->topics[t].topic;
    const bool input = std::find(inputs.begin(), inputs.end(), name) != inputs.end();
    found_inputs += input;
    if (input || internal_topic_of(group, name))
      for (int p = 0; p < metadata->topics[t].partition_cnt; ++p)
        rd_kafka_topic_partition_list_add(parts.get(), name.c_str(), metadata->topics[t].partitions[p].id);
  }
  rd_kafka_metadata_destroy(metadata);
  if (found_inputs < inputs.size())
    return false;

  // A consumer with the group's id only to read its offsets and what follows them: it never joins
  // the group (assign, not subscribe) and never commits.
  kafka_handle reader;
  try {
    reader = make_kafka_client(RD_KAFKA_CONSUMER,
                               {{{"bootstrap.servers", bootstrap_servers_},
                                 {"group.id", group},
                                 {"enable.auto.commit", "false"},
                                 {"enable.partition.eof", "true"},
                                 {"log_level", "3"}}},
                               "offset probe");
  } catch (const std::runtime_error&) {
    return false;
  }
  if (rd_kafka_committed(reader.get(), parts.get(), 5000) != RD_KAFKA_RESP_ERR_NO_ERROR)
    return false;
  auto tail = new_partition_list();
  for (int i = 0; i < parts->cnt; ++i) {
    const auto& tp = parts->elems[i];
    std::int64_t low = 0, high = 0;
    if (tp.err != RD_KAFKA_RESP_ERR_NO_ERROR ||
        rd_kafka_query_watermark_offsets(rk_, tp.topic, tp.partition, &low, &high, 2000) != RD_KAFKA_RESP_ERR_NO_ERROR)
      return false;
    if (tp.offset >= high || (tp.offset < 0 && low == high))
      continue; // at the end, or nothing ever to consume
    if (tp.offset < 0 || !internal_topic_of(group, tp.topic))
      return false;
    rd_kafka_topic_partition_list_add(tail.get(), tp.topic, tp.partition)->offset = tp.offset;
  }
  return only_announcements(reader.get(), tail.get());
}

bool wait_until_consumed(const std::string& bootstrap_servers, const std::string& group,
                         const std::vector<std::string>& inputs, std::chrono::milliseconds timeout) {
  offset_probe probe(bootstrap_servers);
  return wait_until([&] { return probe.consumed_to_end(group, inputs); }, timeout, std::chrono::milliseconds{200});
}

} // namespace sluice::test
