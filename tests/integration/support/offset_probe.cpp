#include "offset_probe.hpp"

#include <stdexcept>

namespace sluice::test {

offset_probe::offset_probe(const std::string& bootstrap_servers) : bootstrap_servers_(bootstrap_servers) {
  connect();
}

void offset_probe::connect() {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap_servers_.c_str(), errstr, sizeof(errstr)) !=
      RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(errstr);
  }
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)); // quiet while a broker is down
  rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
  if (rk_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(errstr);
  }
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

} // namespace sluice::test
