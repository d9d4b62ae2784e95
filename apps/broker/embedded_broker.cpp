#include "embedded_broker.hpp"

#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

namespace sluice {

namespace {

void check(rd_kafka_resp_err_t err, const std::string& what) {
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw std::runtime_error("embedded_broker: " + what + ": " + rd_kafka_err2str(err));
}

} // namespace

embedded_broker::embedded_broker(int broker_count) : broker_count_(broker_count) {
  if (broker_count < 1)
    throw std::invalid_argument("embedded_broker: broker_count must be >= 1");
  char errstr[512];
  std::unique_ptr<rd_kafka_conf_t, decltype(&rd_kafka_conf_destroy)> conf{rd_kafka_conf_new(), &rd_kafka_conf_destroy};
  // The host handle never connects anywhere; keep it from logging about a missing bootstrap list.
  rd_kafka_conf_set(conf.get(), "log_level", "3", errstr, sizeof(errstr));
  host_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof(errstr));
  if (host_ == nullptr)
    throw std::runtime_error(std::string("embedded_broker: cannot create host handle: ") + errstr);
  conf.release(); // rd_kafka_new took it
  cluster_ = rd_kafka_mock_cluster_new(host_, broker_count);
  if (cluster_ == nullptr) {
    rd_kafka_destroy(host_);
    throw std::runtime_error("embedded_broker: cannot start the mock cluster (is a port taken?)");
  }
  bootstrap_servers_ = rd_kafka_mock_cluster_bootstraps(cluster_);
}

embedded_broker::~embedded_broker() {
  rd_kafka_mock_cluster_destroy(cluster_);
  rd_kafka_destroy(host_);
}

void embedded_broker::create_topic(const std::string& name, int partitions) {
  check(rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, std::min(3, broker_count_)),
        "create_topic " + name);
}

void embedded_broker::set_broker_down(int broker_id) {
  check(rd_kafka_mock_broker_set_down(cluster_, broker_id), "set_broker_down " + std::to_string(broker_id));
}

void embedded_broker::set_broker_up(int broker_id) {
  check(rd_kafka_mock_broker_set_up(cluster_, broker_id), "set_broker_up " + std::to_string(broker_id));
}

void embedded_broker::set_rtt(int broker_id, std::chrono::milliseconds rtt) {
  check(rd_kafka_mock_broker_set_rtt(cluster_, broker_id, static_cast<int>(rtt.count())),
        "set_rtt " + std::to_string(broker_id));
}

void embedded_broker::push_request_errors(std::int16_t api_key, const std::vector<rd_kafka_resp_err_t>& errors) {
  rd_kafka_mock_push_request_errors_array(cluster_, api_key, errors.size(), errors.data());
}

void embedded_broker::clear_request_errors(std::int16_t api_key) {
  rd_kafka_mock_clear_request_errors(cluster_, api_key);
}

void embedded_broker::push_broker_request_errors(int broker_id, std::int16_t api_key,
                                                 const std::vector<rd_kafka_resp_err_t>& errors) {
  for (auto e : errors) // one at a time: the call takes (error, rtt) pairs as varargs
    check(rd_kafka_mock_broker_push_request_error_rtts(cluster_, broker_id, api_key, 1, e, 0),
          "push_broker_request_errors " + std::to_string(broker_id));
}

void embedded_broker::set_partition_leader(const std::string& topic, int partition, int broker_id) {
  check(rd_kafka_mock_partition_set_leader(cluster_, topic.c_str(), partition, broker_id),
        "set_partition_leader " + topic + "-" + std::to_string(partition));
}

} // namespace sluice
