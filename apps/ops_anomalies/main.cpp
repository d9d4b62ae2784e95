// ops-anomalies: the KSQL tutorial's streams and tables over server logs, bank transactions and
// product ratings (error bursts, status counts, large withdrawals, suspicious users, balances, bad
// ratings, worst products).
#include "app_main.hpp"
#include "ops_anomalies.hpp"

int main(int argc, char** argv) {
  CLI::App cli{"ops-anomalies: reads logs_topic, transactions_topic and ratings_topic and writes\n"
               "  log_error_alerts        ERROR 5+ times in a 1-minute window (one row per closed window)\n"
               "  log_status_counts       lines per status since the beginning (table)\n"
               "  large_withdrawals       withdrawals over 1,000,000\n"
               "  suspicious_users_daily  users whose withdrawals in a day sum over 5,000,000 (table)\n"
               "  user_balances           running deposit and withdrawal sums per user (table)\n"
               "  bad_ratings             ratings below 3\n"
               "  worst_products          the 10 products with the lowest average rating\n"
               "Error bursts, large withdrawals and suspicious users are also alerted (console or Slack)."};
  sluice::streams_config defaults;
  defaults.application_id = "ops-anomalies";
  sluice::config_flags flags{cli, defaults};
  sluice::apps::ops_anomalies_options options;
  auto& t = options.topics;
  cli.add_option("--logs-topic", t.logs, "input: server log lines")->capture_default_str();
  cli.add_option("--transactions-topic", t.transactions, "input: bank transactions")->capture_default_str();
  cli.add_option("--ratings-topic", t.ratings, "input: product ratings")->capture_default_str();
  cli.add_option("--error-alerts-topic", t.error_alerts, "output: error bursts")->capture_default_str();
  cli.add_option("--status-counts-topic", t.status_counts, "output: lines per status")->capture_default_str();
  cli.add_option("--large-withdrawals-topic", t.large_withdrawals, "output: large withdrawals")->capture_default_str();
  cli.add_option("--suspicious-users-topic", t.suspicious_users, "output: suspicious users per day")
    ->capture_default_str();
  cli.add_option("--user-balances-topic", t.user_balances, "output: balances per user")->capture_default_str();
  cli.add_option("--bad-ratings-topic", t.bad_ratings, "output: ratings below 3")->capture_default_str();
  cli.add_option("--worst-products-topic", t.worst_products, "output: worst-rated products")->capture_default_str();
  cli
    .add_option("--error-grace-ms", options.error_grace_ms,
                "grace of the 1-minute error windows (accepted disorder; results come this much after the minute)")
    ->capture_default_str()
    ->check(CLI::NonNegativeNumber);
  cli.add_option("--daily-grace-ms", options.daily_grace_ms, "grace of the 1-day withdrawal windows")
    ->capture_default_str()
    ->check(CLI::NonNegativeNumber);
  options.target.add_flags(cli);
  return sluice::apps::run_app(
    "ops-anomalies", cli, flags,
    [&](const sluice::streams_config&, sluice::topology_builder& builder) {
      options.target.validate();
      sluice::apps::build_ops_anomalies(builder, options);
      return "alerts to " + options.target.describe();
    },
    argc, argv);
}
