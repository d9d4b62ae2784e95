#pragma once
// Asynchronous HTTP client for alert sinks (Slack, webhooks), built on curl multi.
//
// Threading: the client owns ONE I/O thread that drives every transfer, retry timer and
// completion callback. submit() never blocks on the network: it hands the request to that
// thread and returns at once, so it is safe from any actor or thread. Completion callbacks run
// on the client thread: keep them short (e.g. send a message to an actor), never block in them.
//
// Backpressure: at most max_in_flight requests are accepted but not yet completed (including
// those waiting to be retried). submit() returns false when full and does NOT queue: the
// caller keeps the record and tries again later (the runtime stops granting credit upstream).

#include <boost/json/value.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace spdlog {
class logger;
}

namespace sluice {

/// How a 2xx response is judged.
enum class response_check {
  http_status, ///< Any 2xx is success (webhooks).
  slack_api,   ///< 2xx AND a JSON body with "ok": true; "ratelimited" is retried (Slack Web API).
};

/// One HTTP request to deliver.
struct http_request {
  std::string method = "POST";                                   ///< HTTP method.
  std::string url;                                               ///< Absolute http(s) URL.
  std::vector<std::pair<std::string, std::string>> headers = {}; ///< Extra headers, in order.
  std::string body = {};                                         ///< Request body as sent.
  response_check check = response_check::http_status;            ///< What counts as success.
};

/// The outcome of one submitted request, after all attempts.
struct delivery_report {
  bool ok = false;                ///< True when the last attempt succeeded.
  int attempts = 0;               ///< Attempts made (1 = first try).
  long http_status = 0;           ///< Status of the last response; 0 when none was received.
  std::string reason = {};        ///< Why it failed (empty on success); safe for logs and DLQ headers.
  std::string response_body = {}; ///< Body of the last response (truncated to 4 KiB).
};

/// Called exactly once per accepted request, on the client thread.
using completion_handler = std::function<void(const delivery_report&)>;

/// Configuration of an alert_client.
struct alert_client_options {
  /// Accepted-but-not-completed requests; beyond it submit() returns false (backpressure).
  std::size_t max_in_flight = 64;
  /// Attempts per request, including the first; then the completion reports failure.
  int max_attempts = 5;
  /// First retry delay after a 5xx/timeout/connection error; doubles per attempt.
  std::chrono::milliseconds retry_backoff_min = std::chrono::milliseconds{200};
  /// Cap of the exponential retry delay.
  std::chrono::milliseconds retry_backoff_max = std::chrono::seconds{30};
  /// Longest Retry-After we honour; a larger value is clamped (a sink must not stall for hours).
  std::chrono::milliseconds max_retry_after = std::chrono::seconds{120};
  /// Whole-request timeout per attempt; expiry counts as a retryable failure.
  std::chrono::milliseconds request_timeout = std::chrono::seconds{10};
  /// TCP/TLS connect timeout per attempt.
  std::chrono::milliseconds connect_timeout = std::chrono::seconds{5};
  /// User-Agent header sent with every request.
  std::string user_agent = "sluice-alert-client/0.1";
  /// Logger for retries and failures (tokens redacted); null = spdlog's default logger.
  std::shared_ptr<spdlog::logger> logger = nullptr;
};

/// Counters of an alert_client, monotonic since construction.
struct alert_client_metrics {
  std::uint64_t submitted = 0; ///< Requests accepted by submit().
  std::uint64_t rejected = 0;  ///< submit() calls refused because max_in_flight was reached.
  std::uint64_t succeeded = 0; ///< Requests completed successfully.
  std::uint64_t failed = 0;    ///< Requests completed with failure (incl. stop()).
  std::uint64_t retries = 0;   ///< Attempts scheduled after a retryable failure.
};

/// Non-blocking HTTP delivery with retries, Retry-After and bounded in-flight requests.
class alert_client {
public:
  /// Starts the I/O thread.
  explicit alert_client(alert_client_options options = {});
  /// Same as stop().
  ~alert_client();
  alert_client(const alert_client&) = delete;
  alert_client& operator=(const alert_client&) = delete;

  /// Hands `request` to the I/O thread and returns at once. True = accepted: `on_complete`
  /// will run exactly once on the client thread. False = max_in_flight reached or stopped:
  /// nothing was queued and `on_complete` is not called.
  bool submit(http_request request, completion_handler on_complete);

  /// Accepted requests that have not completed yet (in transfer or waiting to retry).
  std::size_t in_flight() const noexcept;

  /// Waits until in_flight() is 0 or `timeout` passes; true when drained. Not from a callback.
  bool drain(std::chrono::milliseconds timeout);

  /// Stops the I/O thread; requests not completed yet complete with ok=false, reason
  /// "alert client stopped". Idempotent; not from a completion callback.
  void stop();

  /// Snapshot of the counters; thread-safe.
  alert_client_metrics metrics() const noexcept;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace sluice
