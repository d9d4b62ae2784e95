// The KSQL logs / fraud / ratings tutorial as one topology: error bursts and status counts from
// web-server logs, large withdrawals, suspicious users and balances from bank transactions, bad
// ratings and the worst-rated products from product ratings.
#pragma once

#include <sluice/connectors/http/alert_target.hpp>
#include <sluice/topology/stream.hpp>
#include <sluice/topology/topology_builder.hpp>

#include <cstdint>
#include <iosfwd>
#include <string>

namespace sluice::apps {

/// Topics of the ops-anomalies app; defaults are the tutorial's names.
struct ops_anomalies_topics {
  std::string logs = "logs_topic";                 ///< input: {"date" (UTC text), "url", "status"}
  std::string transactions = "transactions_topic"; ///< input: {"action", "user-id", "tx_id", "amount", "timestamp" (s)}
  std::string ratings = "ratings_topic"; ///< input: {"date" (s), "userid", "productid", "description", "rating"}
  std::string error_alerts = "log_error_alerts";       ///< {window_start, window_end, status, count}, key status
  std::string status_counts = "log_status_counts";     ///< table {status, count}, key status
  std::string large_withdrawals = "large_withdrawals"; ///< withdrawals over 1,000,000 as they came
  std::string suspicious_users =
    "suspicious_users_daily";                    ///< table {user_id, window_start, window_end, total_withdrawal}
  std::string user_balances = "user_balances";   ///< table {user_id, deposits, withdrawals}, key user id
  std::string bad_ratings = "bad_ratings";       ///< ratings below 3 as they came
  std::string worst_products = "worst_products"; ///< {"products": [{productid, avg_rating, ratings}, ...]}
};

/// Settings of the ops-anomalies topology.
struct ops_anomalies_options {
  ops_anomalies_topics topics; ///< topic names
  /// Grace of the 1-minute error windows: how out of order (event time) log lines may arrive;
  /// a window's result is written once stream time passes its end plus this.
  int64_t error_grace_ms = 10'000;
  /// Grace of the 1-day withdrawal windows (late withdrawals within it still count).
  int64_t daily_grace_ms = 3'600'000;
  alert_target target; ///< alert destination
};

/// The app name: console label and default application.id.
inline constexpr const char* ops_anomalies_name = "ops-anomalies";
/// An error-burst alert: at least this many ERROR lines in one minute.
inline constexpr int64_t error_burst_min_count = 5;
/// A large withdrawal: amount strictly above this.
inline constexpr double large_withdrawal_amount = 1'000'000.0;
/// A suspicious user: withdrawals in one day summing strictly above this.
inline constexpr double suspicious_daily_total = 5'000'000.0;
/// A bad rating: strictly below this.
inline constexpr int64_t bad_rating_below = 3;
/// Length of the worst-products ranking.
inline constexpr size_t worst_products_count = 10;

/// Adds the ops-anomalies streams and tables to `builder`.
void build_ops_anomalies(topology_builder& builder, const ops_anomalies_options& options = {});

} // namespace sluice::apps
