// pizza-anomaly: the four pizza-order anomaly pipelines of the Kafka + Flink tutorial, with alerts
// for orders with too many prohibited toppings and for trends (Slack when configured, else console).
#include <sluice/connectors/http/alert_target.hpp>
#include "app_main.hpp"
#include "pizza_anomaly.hpp"

namespace {

constexpr const char* app_name = "pizza-anomaly";
constexpr const char* bad_order_text =
  "order {id} by {name}: {nr_bad_items} prohibited toppings ({toppings}) at {orderTimestamp:iso_ms}";
constexpr const char* trend_text =
  "trend for {topping} from window time {trend_start:iso_ms}: {trend_detail} orders per 5 s";

} // namespace

int main(int argc, char** argv) {
  CLI::App cli{"pizza-anomaly: reads pizza orders (sluice-gen pizza) and writes\n"
               "  ex-1 every prohibited topping (pineapple, strawberry, banana) to pizza_stream_out_filter,\n"
               "  ex-2 orders with more than 3 of them to pizza_stream_out_agg (alerted),\n"
               "  ex-3 5 s windows with more than 10 of one prohibited topping to pizza_stream_out_agg_windows,\n"
               "  ex-4 rise-then-fall trends of the 5 s counts to pizza_stream_out_trends (alerted).\n"
               "Event time is the Kafka record timestamp, windows accept records up to 5 s late."};
  sluice::streams_config defaults;
  defaults.application_id = app_name;
  sluice::config_flags flags{cli, defaults};
  sluice::apps::pizza_anomaly_options options;
  auto& topics = options.topics;
  cli.add_option("--input-topic", topics.orders, "topic of the pizza orders")->capture_default_str();
  cli.add_option("--filter-topic", topics.filtered, "ex-1 output: prohibited toppings")->capture_default_str();
  cli.add_option("--agg-topic", topics.aggregated, "ex-2 output: orders with more than 3 prohibited toppings")
    ->capture_default_str();
  cli.add_option("--windows-topic", topics.windows, "ex-3 output: busy 5 s windows per topping")->capture_default_str();
  cli.add_option("--trends-topic", topics.trends, "ex-4 output: trends")->capture_default_str();
  std::string pattern = "readme";
  cli
    .add_option("--trend-pattern", pattern,
                "ex-4 pattern: 'readme' = START_ROW NR_UP NR_DOWN (a rise, then a fall of more than 30 %), "
                "'deployed' = START_ROW NR_UP+ NR_DOWN{2} (strictly rising, then falling twice)")
    ->capture_default_str()
    ->check(CLI::IsMember({"readme", "deployed"}));
  sluice::alert_target alerts;
  alerts.add_flags(cli);
  return sluice::apps::run_app(
    app_name, cli, flags,
    [&](const sluice::streams_config&, sluice::topology_builder& builder) {
      alerts.validate();
      options.pattern =
        pattern == "deployed" ? sluice::apps::trend_pattern::deployed : sluice::apps::trend_pattern::readme;
      auto alerting = sluice::apps::build_pizza_anomaly(builder, options);
      alerts.send(alerting.bad_orders, app_name, bad_order_text, "bad-order-alerts");
      alerts.send(alerting.trends, app_name, trend_text, "trend-alerts");
      return "trend pattern " + pattern;
    },
    argc, argv);
}
