#include "actors/kafka_client.hpp"

#include "actors/record_collector.hpp"

#include <stdexcept>

namespace sluice {

kafka_handle make_kafka_client(rd_kafka_type_t type, const std::vector<std::map<std::string, std::string>>& settings,
                               const std::string& what, const std::function<void(rd_kafka_conf_t*)>& prepare) {
  std::unique_ptr<rd_kafka_conf_t, decltype(&rd_kafka_conf_destroy)> conf{rd_kafka_conf_new(), &rd_kafka_conf_destroy};
  try {
    for (const auto& s : settings)
      apply_kafka_settings(conf.get(), s);
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot create " + what + ": " + e.what());
  }
  if (prepare)
    prepare(conf.get());
  char err[512];
  kafka_handle rk{rd_kafka_new(type, conf.get(), err, sizeof(err))};
  if (!rk)
    throw std::runtime_error("cannot create " + what + ": " + err);
  conf.release(); // rd_kafka_new took it
  return rk;
}

std::string_view rebalance_protocol(rd_kafka_t* consumer) {
  const char* protocol = rd_kafka_rebalance_protocol(consumer);
  return protocol ? protocol : "";
}

} // namespace sluice
