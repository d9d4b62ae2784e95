// Owning librdkafka clients: a handle is destroyed with its owner, and a configuration that fails
// half-way is freed, not leaked.
#pragma once

#include <librdkafka/rdkafka.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

/// Destroys a librdkafka client.
struct kafka_handle_deleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); } ///<
};

/// An owned librdkafka client.
using kafka_handle = std::unique_ptr<rd_kafka_t, kafka_handle_deleter>;

/// A client of `type` with each map of `settings` applied in turn (later ones win) and `prepare`
/// (callbacks, opaque) run on the configuration last; throws std::runtime_error naming `what` and
/// the setting or librdkafka's reason.
kafka_handle make_kafka_client(rd_kafka_type_t type, const std::vector<std::map<std::string, std::string>>& settings,
                               const std::string& what, const std::function<void(rd_kafka_conf_t*)>& prepare = {});

/// The consumer group's rebalance protocol ("COOPERATIVE", "EAGER", or "NONE" before the first
/// rebalance); "" once the group has terminated, where librdkafka answers null (a consumer being
/// closed can still deliver a revocation then).
std::string_view rebalance_protocol(rd_kafka_t* consumer);

} // namespace sluice
