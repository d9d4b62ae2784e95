// pizza-anomaly: the four pizza-order anomaly pipelines of the Kafka + Flink tutorial, with alerts
// for orders with too many prohibited toppings and for trends (Slack when configured, else console).
#include "connectors/http/alert_sink.hpp"
#include "pizza_anomaly.hpp"
#include "sluice.hpp"

#include <spdlog/spdlog.h>

#include <iostream>
#include <map>

namespace {

constexpr const char* app_name = "pizza-anomaly";
constexpr const char* bad_order_text =
  "order {id} by {name}: {nr_bad_items} prohibited toppings ({toppings}) at {orderTimestamp}";
constexpr const char* trend_text = "trend for {topping} from window time {trend_start}: {trend_detail} orders per 5 s";

// Where alerts go: Slack webhook, Slack chat.postMessage, or the console.
struct alert_settings {
  std::string webhook_url;
  std::string token;
  std::string channel;
};

template <class S>
void attach_alert(const S& s, const alert_settings& alerts, const char* text, const std::string& name) {
  if (!alerts.webhook_url.empty())
    s.alert(sluice::slack_webhook_sink{alerts.webhook_url, text}, name);
  else if (!alerts.token.empty())
    s.alert(sluice::slack_post_message_sink{alerts.token, alerts.channel, text}, name);
  else
    s.alert(sluice::console_alert_sink{app_name, text}, name);
}

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
  cli.add_option("--trend-pattern", pattern,
                 "ex-4 pattern: 'readme' = START_ROW NR_UP NR_DOWN (a rise, then a fall of more than 30 %), "
                 "'deployed' = START_ROW NR_UP+ NR_DOWN{2} (strictly rising, then falling twice)")
    ->capture_default_str()
    ->check(CLI::IsMember({"readme", "deployed"}));
  alert_settings alerts;
  cli.add_option("--slack-webhook-url", alerts.webhook_url, "Slack incoming webhook for alerts (else console)")
    ->envname("SLACK_WEBHOOK_URL");
  cli.add_option("--slack-token", alerts.token, "Slack bot token for chat.postMessage (with --slack-channel)")
    ->envname("SLACK_TOKEN");
  cli.add_option("--slack-channel", alerts.channel, "Slack channel id for --slack-token")->envname("SLACK_CHANNEL");
  bool describe = false;
  cli.add_flag("--describe", describe, "print the topology and exit");
  CLI11_PARSE(cli, argc, argv);

  try {
    if (!alerts.token.empty() && alerts.channel.empty())
      throw std::invalid_argument("--slack-token needs --slack-channel (or SLACK_CHANNEL)");
    options.pattern =
      pattern == "deployed" ? sluice::apps::trend_pattern::deployed : sluice::apps::trend_pattern::readme;
    auto config = flags.resolve();
    sluice::setup_logging(config.log_level);
    sluice::topology_builder builder;
    auto alerting = sluice::apps::build_pizza_anomaly(builder, options);
    attach_alert(alerting.bad_orders, alerts, bad_order_text, "bad-order-alerts");
    attach_alert(alerting.trends, alerts, trend_text, "trend-alerts");
    auto topology = builder.build();
    if (describe) {
      std::cout << topology.describe();
      return 0;
    }
    spdlog::info("{}: application.id={} bootstrap.servers={} trend pattern {}\n{}", app_name, config.application_id,
                 config.bootstrap_servers, pattern, topology.describe());
    sluice::kafka_streams streams{topology, config};
    return streams.run();
  } catch (const std::exception& e) {
    std::cerr << app_name << ": " << e.what() << "\n";
    return 2;
  }
}
