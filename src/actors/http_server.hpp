// A small HTTP/1.1 server for an instance's endpoints (/metrics, /health, /stores, the live page):
// Boost.Beast on a thread of its own, never on the actor scheduler's.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace sluice {

/// What a handler answers.
struct http_response {
  int status = 200;                                       ///<
  std::string content_type = "text/plain; charset=utf-8"; ///<
  std::string body;                                       ///<
};

/// Answers a GET request for `target` (path and query, e.g. "/stores/counts?from=a"); called on
/// the server's thread, one request at a time. A throw answers 500 with its message.
using http_handler = std::function<http_response(std::string_view target)>;

/// Serves `handler` until destroyed.
class http_server {
public:
  /// Listens on `address` ("host:port": localhost and 127.x on loopback only, any other host on
  /// every interface; port 0 takes a free one). Throws std::runtime_error if it cannot listen.
  http_server(const std::string& address, http_handler handler);

  /// Stops listening, closes connections, joins the thread.
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// The port it listens on.
  uint16_t port() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// GETs `target` from the HTTP server at `server` ("host:port") and answers what it answered;
/// throws std::runtime_error if it cannot connect or the answer does not come within `timeout`.
http_response http_get(const std::string& server, std::string_view target, std::chrono::milliseconds timeout);

} // namespace sluice
