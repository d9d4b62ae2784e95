// Where an app sends its alerts: Slack (incoming webhook or bot token), else the console.
#pragma once

#include <sluice/connectors/http/alert_sink.hpp>
#include <sluice/topology/stream.hpp>

#include <CLI/CLI.hpp>

#include <ostream>
#include <stdexcept>
#include <string>

namespace sluice {

/// An app's alert destination, chosen from flags or the environment.
struct alert_target {
  std::string slack_webhook_url;   ///< Slack incoming webhook (secret); wins over the token
  std::string slack_token;         ///< Slack bot token for chat.postMessage (secret)
  std::string slack_channel;       ///< channel id for the bot token
  std::ostream* console = nullptr; ///< where console alerts go; null = stdout

  /// Adds --slack-webhook-url, --slack-token and --slack-channel (env SLACK_WEBHOOK_URL,
  /// SLACK_TOKEN, SLACK_CHANNEL) to `cli`.
  void add_flags(CLI::App& cli) {
    cli.add_option("--slack-webhook-url", slack_webhook_url, "Slack incoming webhook for alerts (else console)")
      ->envname("SLACK_WEBHOOK_URL");
    cli.add_option("--slack-token", slack_token, "Slack bot token for chat.postMessage (with --slack-channel)")
      ->envname("SLACK_TOKEN");
    cli.add_option("--slack-channel", slack_channel, "Slack channel id for --slack-token")->envname("SLACK_CHANNEL");
  }

  /// Throws std::invalid_argument when a bot token comes without a channel.
  void validate() const {
    if (slack_webhook_url.empty() && !slack_token.empty() && slack_channel.empty())
      throw std::invalid_argument("--slack-token needs --slack-channel (or SLACK_CHANNEL)");
  }

  /// "Slack webhook", "Slack channel <id>" or "console" (never a secret).
  std::string describe() const {
    if (!slack_webhook_url.empty())
      return "Slack webhook";
    if (!slack_token.empty())
      return "Slack channel " + slack_channel;
    return "console";
  }

  /// Sends every record of `alerts` (JSON values) as the message `text` (a template over the
  /// record's fields); console lines are labelled `label`. Ends the stream.
  template <class K, class V>
  void send(const stream<K, V>& alerts, const std::string& label, const std::string& text,
            const std::string& name) const {
    if (!slack_webhook_url.empty())
      alerts.alert(slack_webhook_sink{slack_webhook_url, text}, name);
    else if (!slack_token.empty())
      alerts.alert(slack_post_message_sink{slack_token, slack_channel, text}, name);
    else
      alerts.alert(console_alert_sink{label, text, console}, name);
  }
};

} // namespace sluice
