#pragma once
// A loopback HTTP/1.1 server for alert-sink tests: records every request and answers from a
// programmable script (status, headers, body, delay). One thread per connection (keep-alive).

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace sluice::test {

/// One request as the server received it.
struct recorded_request {
  std::string method;                                       ///< "POST", "GET"…
  std::string target;                                       ///< Path and query.
  std::vector<std::pair<std::string, std::string>> headers; ///< In order received.
  std::string body;                                         ///< Raw body.
  std::chrono::steady_clock::time_point received;           ///< When the request was complete.
  unsigned answered = 0;                                    ///< Status the receiver answered it with.
  /// Value of the first header named `name` (case-insensitive); empty when absent.
  std::string header(std::string_view name) const;
};

/// One scripted answer.
struct scripted_response {
  unsigned status = 200;                                         ///< HTTP status code.
  std::string body = "ok";                                       ///< Response body.
  std::vector<std::pair<std::string, std::string>> headers = {}; ///< e.g. {"Retry-After","1"}.
  std::chrono::milliseconds delay{0};                            ///< Wait before answering.
  std::string content_type = "text/plain";                       ///< Content-Type header.
};

/// HTTP server on 127.0.0.1:<ephemeral>; answers scripted responses in order, then the default.
class http_receiver {
public:
  /// Binds and starts accepting; throws on failure.
  http_receiver();
  /// Same as stop().
  ~http_receiver();
  http_receiver(const http_receiver&) = delete;
  http_receiver& operator=(const http_receiver&) = delete;

  /// The listening port.
  unsigned short port() const noexcept { return port_; }
  /// "http://127.0.0.1:<port><target>".
  std::string url(std::string_view target = "/") const;

  /// Appends `response` to the script `times` times (consumed one per request, in order).
  void enqueue(scripted_response response, std::size_t times = 1);
  /// The answer once the script is exhausted (initially 200 "ok").
  void set_default(scripted_response response);

  /// Copy of all requests received so far.
  std::vector<recorded_request> requests() const;
  /// Number of requests received so far.
  std::size_t request_count() const;
  /// Waits until at least `n` requests arrived; false on timeout.
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const;

  /// Stops accepting, interrupts delays and closes connections; idempotent.
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  unsigned short port_ = 0;
};

} // namespace sluice::test
