#pragma once
// Secret redaction for everything the connectors log or put into error values.

#include <string>
#include <string_view>

namespace sluice {

/// The text that replaces a secret.
inline constexpr std::string_view redacted_marker = "***";

/// libpq conninfo (key=value or postgres:// URI) with password values replaced by ***.
std::string redact_conninfo(std::string_view conninfo);

/// A URL with secrets replaced by ***: userinfo password, sensitive query parameters
/// (token, access_token, password, key, api_key, secret, sig, signature) and the secret path
/// segments of Slack incoming webhooks (hooks.slack.com/services/T…/B…/<secret>).
std::string redact_url(std::string_view url);

/// The value of an HTTP header as safe to log: Authorization/Cookie/*token*/*key* become ***.
std::string redact_header(std::string_view name, std::string_view value);

/// `text` with every occurrence of `secret` replaced by *** (no-op for secrets shorter than 3).
std::string scrub_secret(std::string_view text, std::string_view secret);

} // namespace sluice
