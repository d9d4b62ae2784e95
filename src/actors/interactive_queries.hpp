// Interactive queries: reading an instance's stores over HTTP (/stores), as Kafka Streams'
// interactive queries do. A query runs on the actor that owns the store (its cache is not
// thread-safe), asked from the HTTP thread; what comes out is JSON through the store's view.
#pragma once

#include "actors/endpoint_directory.hpp"
#include "actors/http_server.hpp"
#include "actors/metrics.hpp"
#include <sluice/state/key_value_store.hpp>
#include <sluice/state/window_store.hpp>
#include <sluice/topology/store_view.hpp>

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

/// What one query asks of one store of one task.
struct store_query {
  std::optional<std::string> key;  ///< stored key bytes: that key only; none: every key
  std::optional<std::string> from; ///< key-value stores, every key: the first key (bytes), inclusive
  std::optional<std::string> to;   ///< key-value stores, every key: the last key (bytes), inclusive
  int64_t time_from = std::numeric_limits<int64_t>::min(); ///< window stores: earliest window start
  int64_t time_to = std::numeric_limits<int64_t>::max();   ///< window stores: latest window start
  size_t limit = 1000;                                     ///< most entries answered
};

/// A store of one task, queryable from any thread while its operator runs.
struct store_replica {
  std::string store; ///< the store's name
  std::string task;  ///< e.g. "1_3"
  bool windowed = false;
  std::shared_ptr<const store_view> view; ///< its keys and values as JSON; null: as text
  /// Runs `q` on the owning actor: a JSON array of entries, nullopt if the actor is gone or did not
  /// answer in time. Entries: {"key", "value"}, window stores {"key", "window_start", "value"}.
  std::function<std::optional<std::string>(const store_query& q)> query;
};

/// Answers `q` from a key-value store (on its owner's thread); keys and values through `view`
/// (null: as text).
std::string query_key_value_store(key_value_store& store, const store_view* view, const store_query& q);

/// Answers `q` from a window store (on its owner's thread), likewise.
std::string query_window_store(window_store& store, const store_view* view, const store_query& q);

/// Answers an HTTP request for /stores (this instance's stores and their tasks, and every
/// instance's entry), /stores/<store>[?from=&to=&limit=] (every entry; key-value stores: keys
/// from..to; window stores: window starts from..to, epoch ms) or /stores/<store>/<key>[?from=&to=]
/// (one key), from every task of this instance that has the store and, unless the query has
/// `local=1`, from the other instances `directory` names (null: none): a key this instance does not
/// hold is asked of them in turn and answered by the first that has it, a range merges everyone's
/// answers. Keys are written as the store's key serde reads them as text (URL-encoded).
http_response stores_endpoint(std::string_view target, const instance_metrics& registry,
                              const endpoint_directory* directory);

} // namespace sluice
