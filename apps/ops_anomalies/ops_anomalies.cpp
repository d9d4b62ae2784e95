#include "ops_anomalies.hpp"

#include <sluice/topology/table.hpp>

#include <chrono>

namespace sluice::apps {

namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

// A string field of a JSON object; throws (the record is dead-lettered) if absent or not a string.
std::string text_of(const json::value& v, const char* field) { return std::string{v.at(field).as_string()}; }

// A numeric field as double; throws if absent or not a number.
double number_of(const json::value& v, const char* field) { return v.at(field).to_number<double>(); }

// A user id (JSON integer) as the grouping key.
std::string user_key(const json::value& tx) { return std::to_string(tx.at("user-id").to_number<int64_t>()); }

bool is_withdrawal(const json::value& tx) { return tx.at("action").as_string() == "WITHDRAWAL"; }

void build_logs(topology_builder& builder, const ops_anomalies_options& o) {
  const auto& t = o.topics;
  auto logs = builder.stream<serdes::string, serdes::json>(
    t.logs, consumed<json::value>{timestamps::json_field_datetime("date"), false, "logs-source"});
  auto status_of = [](const std::string&, const json::value& log) { return text_of(log, "status"); };

  // Errors 5 or more times within a 1-minute tumbling window, one result per closed window.
  auto bursts =
    logs.filter([](const json::value& log) { return log.at("status").as_string() == "ERROR"; }, "error-logs")
      .group_by(status_of, "errors-by-status")
      .windowed_by(tumbling(1min).grace(std::chrono::milliseconds{o.error_grace_ms}).emit_final())
      .count("errors-per-minute")
      .to_stream("errors-per-minute-closed")
      .filter([](const windowed<std::string>&, int64_t n) { return n >= error_burst_min_count; }, "at-least-5-errors")
      .map(
        [](const windowed<std::string>& w, int64_t n) {
          return std::pair{
            w.key, json::value{{"window_start", w.start}, {"window_end", w.end}, {"status", w.key}, {"count", n}}};
        },
        "to-error-alert");
  bursts.to(t.error_alerts, "error-alerts-sink");
  o.target.send(bursts, ops_anomalies_name,
                "{count} {status} log lines in the minute [{window_start:iso}, {window_end:iso})",
                "error-alerts-alert");

  // Lines per status since the beginning.
  logs.group_by(status_of, "logs-by-status")
    .count("status-counts")
    .map_values(
      [](const std::string& status, int64_t n) {
        return json::value{{"status", status}, {"count", n}};
      },
      "to-status-count")
    .to(t.status_counts, "status-counts-sink");
}

void build_transactions(topology_builder& builder, const ops_anomalies_options& o) {
  const auto& t = o.topics;
  auto txs = builder.stream<serdes::string, serdes::json>(
    t.transactions, consumed<json::value>{timestamps::json_field_seconds("timestamp"), false, "transactions-source"});
  auto withdrawals = txs.filter(is_withdrawal, "withdrawals");

  // Withdrawals over 1,000,000, as they came.
  auto large = withdrawals.filter(
    [](const json::value& tx) { return number_of(tx, "amount") > large_withdrawal_amount; }, "over-1m");
  large.to(t.large_withdrawals, "large-withdrawals-sink");
  o.target.send(large, ops_anomalies_name, "large withdrawal: user {user-id} withdrew {amount:.2f} (tx {tx_id})",
                "large-withdrawals-alert");

  // Per user and day, the withdrawals' total; the table keeps (and emits) days over 5,000,000.
  // The aggregate also keeps the total before the last withdrawal, to alert once per day.
  auto daily =
    withdrawals.group_by([](const std::string&, const json::value& tx) { return user_key(tx); }, "withdrawals-by-user")
      .windowed_by(tumbling(24h).grace(std::chrono::milliseconds{o.daily_grace_ms}))
      .aggregate(
        [] {
          return json::value{{"total", 0.0}, {"previous", 0.0}};
        },
        [](const std::string&, const json::value& tx, json::value agg) {
          const double before = number_of(agg, "total");
          return json::value{{"total", before + number_of(tx, "amount")}, {"previous", before}};
        },
        "daily-withdrawals")
      .to_stream("daily-withdrawals-updates")
      .filter([](const json::value& agg) { return number_of(agg, "total") > suspicious_daily_total; }, "over-5m-a-day");
  auto row = [](const windowed<std::string>& w, const json::value& agg) {
    return std::pair{w.key, json::value{{"user_id", std::stoll(w.key)},
                                        {"window_start", w.start},
                                        {"window_end", w.end},
                                        {"total_withdrawal", number_of(agg, "total")}}};
  };
  daily.map(row, "to-suspicious-user").to(t.suspicious_users, "suspicious-users-sink");
  auto crossed =
    daily
      .filter([](const json::value& agg) { return number_of(agg, "previous") <= suspicious_daily_total; }, "crossed-5m")
      .map(row, "to-suspicious-alert");
  o.target.send(crossed, ops_anomalies_name,
                "suspicious user {user_id}: withdrawals of {total_withdrawal:.2f} in the day from {window_start:iso}",
                "suspicious-users-alert");

  // Running deposit and withdrawal sums per user.
  txs.group_by([](const std::string&, const json::value& tx) { return user_key(tx); }, "transactions-by-user")
    .aggregate(
      [] {
        return json::value{{"user_id", 0}, {"deposits", 0.0}, {"withdrawals", 0.0}};
      },
      [](const std::string& user, const json::value& tx, json::value agg) {
        auto& a = agg.as_object();
        a["user_id"] = std::stoll(user);
        const auto action = tx.at("action").as_string();
        const char* field = action == "DEPOSIT" ? "deposits" : action == "WITHDRAWAL" ? "withdrawals" : nullptr;
        if (field)
          a[field] = a.at(field).to_number<double>() + number_of(tx, "amount");
        return agg;
      },
      "user-balances")
    .to(t.user_balances, "user-balances-sink");
}

void build_ratings(topology_builder& builder, const ops_anomalies_options& o) {
  const auto& t = o.topics;
  auto ratings = builder.stream<serdes::string, serdes::json>(
    t.ratings, consumed<json::value>{timestamps::json_field_seconds("date"), false, "ratings-source"});

  // Ratings below 3, as they came.
  ratings
    .filter([](const json::value& r) { return r.at("rating").to_number<int64_t>() < bad_rating_below; },
            "rating-below-3")
    .to(t.bad_ratings, "bad-ratings-sink");

  // The 10 products with the lowest average rating, re-ranked as ratings arrive.
  ratings
    .group_by(
      [](const std::string&, const json::value& r) { return std::to_string(r.at("productid").to_number<int64_t>()); },
      "ratings-by-product")
    .agg({agg::mean("rating", "avg_rating"), agg::count("ratings")}, "product-ratings")
    .top_n(
      worst_products_count, [](const json::value& a) { return number_of(a, "avg_rating"); }, ranking_order::ascending,
      "worst-products")
    .map_values(
      [](const ranking<std::string, json::value>& top) {
        json::array products;
        for (const auto& p : top)
          products.push_back(json::object{{"productid", std::stoll(p.key)},
                                          {"avg_rating", p.value.at("avg_rating")},
                                          {"ratings", p.value.at("ratings")}});
        return json::value{{"products", std::move(products)}};
      },
      "to-worst-products")
    .to(t.worst_products, "worst-products-sink");
}

} // namespace

void build_ops_anomalies(topology_builder& builder, const ops_anomalies_options& options) {
  build_logs(builder, options);
  build_transactions(builder, options);
  build_ratings(builder, options);
}

} // namespace sluice::apps
