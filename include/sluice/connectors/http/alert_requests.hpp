#pragma once
// Request builders for the alert sinks: Slack incoming webhook, Slack chat.postMessage and a
// generic JSON webhook; plus a readable console formatter for alerts. Every request carries its
// alert's id as the header `Idempotency-Key`, so a receiver can drop an alert it already has.

#include <sluice/connectors/http/alert_client.hpp>

#include <boost/json/object.hpp>

#include <string>
#include <string_view>

namespace sluice {

/// Default endpoint of Slack's chat.postMessage Web API method.
inline constexpr std::string_view slack_post_message_url = "https://slack.com/api/chat.postMessage";

/// Header naming the alert of a request; a receiver that saw its value before can drop the request.
inline constexpr std::string_view idempotency_key_header = "Idempotency-Key";

/// Slack incoming webhook: POST {"text": text, "alert_id": alert_id} as JSON to the webhook URL (a
/// secret itself).
http_request slack_webhook_request(std::string webhook_url, std::string_view text, std::string_view alert_id);

/// Settings of the Slack Web API sink.
struct slack_api_options {
  /// Bot token (xoxb-…); sent as "Authorization: Bearer <token>", never logged.
  std::string token = "";
  /// chat.postMessage endpoint; override only for tests or a proxy.
  std::string url = std::string(slack_post_message_url);
};

/// Slack chat.postMessage: POST {"channel": channel, "text": text, "alert_id": alert_id} with the
/// bearer token; success requires "ok": true in the answer, "ratelimited" is retried.
http_request slack_post_message_request(const slack_api_options& options, std::string_view channel,
                                        std::string_view text, std::string_view alert_id);

/// Generic JSON webhook: POST `record` (an alert's fields) serialized as JSON to `url`, with
/// `extra_headers`.
http_request json_webhook_request(std::string url, const boost::json::value& record, std::string_view alert_id,
                                  std::vector<std::pair<std::string, std::string>> extra_headers = {});

/// Settings of the console alert formatter.
struct console_alert_options {
  /// Field of the record printed first as the alert's subject (e.g. the rendered Slack text);
  /// empty = none.
  std::string title_field = "";
  /// Print every field of the record as "  key: value" lines under the title.
  bool show_fields = true;
};

/// Formats an alert for a terminal: "ALERT <title>" then one "  key: value" line per field
/// (numbers formatted as message templates do), ending with a newline.
std::string format_console_alert(const boost::json::object& record, const console_alert_options& options = {});

} // namespace sluice
