#include <sluice/connectors/http/alert_requests.hpp>

#include <sluice/connectors/http/message_template.hpp>

#include <boost/json/serialize.hpp>

namespace sluice {

namespace {
const std::pair<std::string, std::string> json_content_type{"Content-Type", "application/json; charset=utf-8"};

std::pair<std::string, std::string> idempotency_key(std::string_view alert_id) {
  return {std::string(idempotency_key_header), std::string(alert_id)};
}
} // namespace

http_request slack_webhook_request(std::string webhook_url, std::string_view text, std::string_view alert_id) {
  boost::json::object body;
  body["text"] = text;
  body["alert_id"] = alert_id;
  return http_request{"POST",
                      std::move(webhook_url),
                      {json_content_type, idempotency_key(alert_id)},
                      boost::json::serialize(body),
                      response_check::http_status};
}

http_request slack_post_message_request(const slack_api_options& options, std::string_view channel,
                                        std::string_view text, std::string_view alert_id) {
  boost::json::object body;
  body["channel"] = channel;
  body["text"] = text;
  body["alert_id"] = alert_id;
  return http_request{"POST",
                      options.url,
                      {json_content_type, idempotency_key(alert_id), {"Authorization", "Bearer " + options.token}},
                      boost::json::serialize(body),
                      response_check::slack_api};
}

http_request json_webhook_request(std::string url, const boost::json::value& record, std::string_view alert_id,
                                  std::vector<std::pair<std::string, std::string>> extra_headers) {
  extra_headers.insert(extra_headers.begin(), {json_content_type, idempotency_key(alert_id)});
  return http_request{"POST", std::move(url), std::move(extra_headers), boost::json::serialize(record),
                      response_check::http_status};
}

std::string format_console_alert(const boost::json::object& record, const console_alert_options& options) {
  std::string out = "ALERT";
  if (!options.title_field.empty()) {
    if (auto it = record.find(options.title_field); it != record.end())
      out += " " + format_value(it->value());
  }
  out += '\n';
  if (options.show_fields) {
    std::size_t width = 0;
    for (const auto& kv : record)
      if (kv.key() != options.title_field)
        width = std::max(width, kv.key().size());
    for (const auto& kv : record) {
      if (kv.key() == options.title_field)
        continue;
      out += "  " + std::string(kv.key()) + ":" + std::string(width - kv.key().size() + 1, ' ') +
             format_value(kv.value()) + '\n';
    }
  }
  return out;
}

} // namespace sluice
