#include "connectors/redact.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace sluice {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool is_sensitive_param(std::string_view name) {
  static constexpr std::array<std::string_view, 9> names = {"token",   "access_token", "password", "passwd",   "key",
                                                            "api_key", "secret",       "sig",      "signature"};
  auto n = lower(name);
  return std::find(names.begin(), names.end(), n) != names.end();
}

// Redacts the values of sensitive parameters in a `a=1&b=2` query string.
std::string redact_query(std::string_view query) {
  std::string out;
  std::size_t pos = 0;
  while (pos <= query.size()) {
    auto amp = query.find('&', pos);
    if (amp == std::string_view::npos)
      amp = query.size();
    auto part = query.substr(pos, amp - pos);
    auto eq = part.find('=');
    if (eq != std::string_view::npos && is_sensitive_param(part.substr(0, eq))) {
      out.append(part.substr(0, eq + 1));
      out.append(redacted_marker);
    } else {
      out.append(part);
    }
    if (amp == query.size())
      break;
    out.push_back('&');
    pos = amp + 1;
  }
  return out;
}

} // namespace

std::string redact_url(std::string_view url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos)
    return std::string(url);
  std::string out(url.substr(0, scheme_end + 3));
  auto rest = url.substr(scheme_end + 3);
  auto authority_end = rest.find_first_of("/?#");
  auto authority = rest.substr(0, authority_end);
  auto tail = authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  // userinfo: keep the user name, hide the password.
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    auto userinfo = authority.substr(0, at);
    if (auto colon = userinfo.find(':'); colon != std::string_view::npos) {
      out.append(userinfo.substr(0, colon + 1));
      out.append(redacted_marker);
    } else {
      out.append(userinfo);
    }
    out.push_back('@');
    authority = authority.substr(at + 1);
  }
  out.append(authority);
  auto query_pos = tail.find('?');
  auto fragment_pos = tail.find('#');
  auto path = tail.substr(0, std::min(query_pos, fragment_pos));
  // Slack incoming webhooks carry their secret in the path.
  if (lower(authority).find("hooks.slack.com") != std::string::npos) {
    constexpr std::string_view services = "/services/";
    if (path.substr(0, services.size()) == services)
      path = services;
    out.append(path);
    if (path == services)
      out.append(redacted_marker);
  } else {
    out.append(path);
  }
  if (query_pos != std::string_view::npos) {
    auto query_end = fragment_pos == std::string_view::npos ? tail.size() : fragment_pos;
    out.push_back('?');
    out.append(redact_query(tail.substr(query_pos + 1, query_end - query_pos - 1)));
  }
  if (fragment_pos != std::string_view::npos)
    out.append(tail.substr(fragment_pos));
  return out;
}

std::string redact_conninfo(std::string_view conninfo) {
  auto trimmed = conninfo.substr(std::min(conninfo.find_first_not_of(" \t\n"), conninfo.size()));
  if (trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://"))
    return redact_url(conninfo);
  // key = value pairs; values may be single-quoted with backslash escapes.
  std::string out;
  std::size_t i = 0;
  const auto n = conninfo.size();
  auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (i < n) {
    if (is_space(conninfo[i])) {
      out.push_back(conninfo[i++]);
      continue;
    }
    auto key_begin = i;
    while (i < n && conninfo[i] != '=' && !is_space(conninfo[i]))
      ++i;
    auto key = conninfo.substr(key_begin, i - key_begin);
    out.append(key);
    while (i < n && is_space(conninfo[i]))
      out.push_back(conninfo[i++]);
    if (i >= n || conninfo[i] != '=')
      continue;
    out.push_back(conninfo[i++]);
    while (i < n && is_space(conninfo[i]))
      out.push_back(conninfo[i++]);
    auto value_begin = i;
    if (i < n && conninfo[i] == '\'') {
      ++i;
      while (i < n && conninfo[i] != '\'') {
        if (conninfo[i] == '\\' && i + 1 < n)
          ++i;
        ++i;
      }
      if (i < n)
        ++i; // closing quote
    } else {
      while (i < n && !is_space(conninfo[i]))
        ++i;
    }
    if (lower(key) == "password")
      out.append(redacted_marker);
    else
      out.append(conninfo.substr(value_begin, i - value_begin));
  }
  return out;
}

std::string redact_header(std::string_view name, std::string_view value) {
  auto n = lower(name);
  if (n == "authorization" || n == "proxy-authorization" || n == "cookie" || n == "set-cookie" ||
      n.find("token") != std::string::npos || n.find("key") != std::string::npos ||
      n.find("secret") != std::string::npos) {
    // Keep the scheme ("Bearer") so logs still say what kind of credential was sent.
    if (auto space = value.find(' '); n.ends_with("authorization") && space != std::string_view::npos)
      return std::string(value.substr(0, space + 1)) + std::string(redacted_marker);
    return std::string(redacted_marker);
  }
  return std::string(value);
}

std::string scrub_secret(std::string_view text, std::string_view secret) {
  std::string out(text);
  if (secret.size() < 3)
    return out;
  for (auto pos = out.find(secret); pos != std::string::npos; pos = out.find(secret, pos + redacted_marker.size()))
    out.replace(pos, secret.size(), redacted_marker);
  return out;
}

} // namespace sluice
