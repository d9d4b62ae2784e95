#include <sluice/connectors/http/alert_client.hpp>

#include "connectors/redact.hpp"
#include <sluice/topology/serdes.hpp>

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

namespace sluice {

namespace {

using clock_type = std::chrono::steady_clock;
constexpr std::size_t max_body_kept = 4096;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string excerpt(std::string_view body, std::size_t n = 200) {
  std::string out(body.substr(0, n));
  std::replace(out.begin(), out.end(), '\n', ' ');
  if (body.size() > n)
    out += "...";
  return out;
}

bool retryable_curl_error(CURLcode rc) {
  switch (rc) {
  case CURLE_URL_MALFORMAT:
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_LOGIN_DENIED:
  case CURLE_BAD_FUNCTION_ARGUMENT:
  case CURLE_OUT_OF_MEMORY:
  case CURLE_NOT_BUILT_IN:
    return false;
  default:
    return true; // connect/resolve/timeouts/send/recv/empty reply: the endpoint may come back
  }
}

struct transfer {
  http_request request;
  completion_handler done;
  std::string safe_url; // redacted, for logs
  int attempts = 0;
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  std::string response;
  std::string retry_after;
  char errbuf[CURL_ERROR_SIZE] = {};

  ~transfer() {
    if (easy != nullptr)
      curl_easy_cleanup(easy);
    if (header_list != nullptr)
      curl_slist_free_all(header_list);
  }
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<transfer*>(user);
  auto len = size * n;
  if (t->response.size() < max_body_kept)
    t->response.append(data, std::min(len, max_body_kept - t->response.size()));
  return len;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<transfer*>(user);
  std::string_view line(data, size * n);
  constexpr std::string_view name = "retry-after:";
  if (line.size() > name.size()) {
    bool match = true;
    for (std::size_t i = 0; i < name.size() && match; ++i)
      match = std::tolower(static_cast<unsigned char>(line[i])) == name[i];
    if (match) {
      auto value = line.substr(name.size());
      auto b = value.find_first_not_of(" \t");
      auto e = value.find_last_not_of(" \t\r\n");
      t->retry_after = b == std::string_view::npos ? "" : std::string(value.substr(b, e - b + 1));
    }
  }
  if (line.starts_with("HTTP/")) // a new response (after 100 Continue or a redirect) starts
    t->retry_after.clear();
  return size * n;
}

} // namespace

struct alert_client::impl {
  alert_client_options options;
  std::shared_ptr<spdlog::logger> log;
  CURLM* multi = nullptr;

  mutable std::mutex mutex; // guards incoming, stopping, in_flight changes + drained_cv
  std::condition_variable drained_cv;
  std::deque<std::unique_ptr<transfer>> incoming;
  bool stopping = false;
  std::atomic<std::size_t> in_flight{0};

  // I/O thread only.
  std::unordered_map<CURL*, std::unique_ptr<transfer>> active;
  std::multimap<clock_type::time_point, std::unique_ptr<transfer>> waiting;

  std::atomic<std::uint64_t> submitted{0}, rejected{0}, succeeded{0}, failed{0}, retries{0};
  std::thread thread;

  explicit impl(alert_client_options opts)
      : options(std::move(opts)), log(options.logger ? options.logger : spdlog::default_logger()) {
    global_init();
    multi = curl_multi_init();
  }

  ~impl() {
    if (multi != nullptr)
      curl_multi_cleanup(multi);
  }

  void complete(std::unique_ptr<transfer> t, delivery_report report) {
    (report.ok ? succeeded : failed)++;
    if (!report.ok)
      log->error("alert {} {}: delivery failed after {} attempt(s): {}", t->request.method, t->safe_url,
                 report.attempts, report.reason);
    try {
      if (t->done)
        t->done(report);
    } catch (const std::exception& e) {
      log->error("alert completion callback threw: {}", e.what());
    } catch (...) {
      log->error("alert completion callback threw a non-exception");
    }
    t.reset();
    {
      std::lock_guard<std::mutex> guard{mutex};
      in_flight--;
    }
    drained_cv.notify_all();
  }

  void start_attempt(std::unique_ptr<transfer> t) {
    t->attempts++;
    t->response.clear();
    t->retry_after.clear();
    t->errbuf[0] = '\0';
    if (t->easy == nullptr) {
      t->easy = curl_easy_init();
      for (const auto& [name, value] : t->request.headers)
        t->header_list = curl_slist_append(t->header_list, (name + ": " + value).c_str());
      t->header_list = curl_slist_append(t->header_list, "Expect:"); // no 100-continue stall
    }
    CURL* e = t->easy;
    const auto& req = t->request;
    curl_easy_setopt(e, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->header_list);
    curl_easy_setopt(e, CURLOPT_USERAGENT, options.user_agent.c_str());
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(options.request_timeout.count()));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
    if (req.method == "GET") {
      curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
      if (req.method != "POST")
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req.method.c_str());
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, req.body.data());
    }
    if (auto rc = curl_multi_add_handle(multi, e); rc != CURLM_OK) {
      delivery_report report{
        false, t->attempts, 0, std::string("curl_multi_add_handle: ") + curl_multi_strerror(rc), {}};
      complete(std::move(t), std::move(report));
      return;
    }
    active.emplace(e, std::move(t));
  }

  std::chrono::milliseconds backoff_for(int attempts) const {
    auto delay = options.retry_backoff_min;
    for (int i = 1; i < attempts && delay < options.retry_backoff_max; ++i)
      delay *= 2;
    return std::min(delay, options.retry_backoff_max);
  }

  void finished(CURL* easy, CURLcode rc) {
    curl_multi_remove_handle(multi, easy);
    auto node = active.extract(easy);
    if (node.empty())
      return;
    auto t = std::move(node.mapped());
    long status = 0;
    bool retryable = false;
    std::string reason;
    std::optional<std::chrono::milliseconds> retry_after;
    if (rc != CURLE_OK) {
      reason = rc == CURLE_OPERATION_TIMEDOUT ? "timed out" : "connection error";
      reason += std::string(": ") + (t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc));
      retryable = retryable_curl_error(rc);
    } else {
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      if (!t->retry_after.empty()) {
        long seconds = 0;
        auto [p, ec] = std::from_chars(t->retry_after.data(), t->retry_after.data() + t->retry_after.size(), seconds);
        if (ec == std::errc{} && seconds >= 0)
          retry_after = std::min<std::chrono::milliseconds>(std::chrono::seconds{seconds}, options.max_retry_after);
      }
      if (status >= 200 && status < 300) {
        if (t->request.check == response_check::slack_api) {
          boost::json::value body; // null unless the response is JSON
          try {
            body = serdes::parse_json(t->response);
          } catch (const std::invalid_argument&) {
          }
          const auto* obj = body.if_object();
          const auto* ok = obj ? obj->if_contains("ok") : nullptr;
          if (ok == nullptr || !ok->is_bool()) {
            reason = "slack api: unexpected response (HTTP " + std::to_string(status) + "): " + excerpt(t->response);
          } else if (!ok->get_bool()) {
            const auto* err = obj->if_contains("error");
            std::string code = err && err->is_string() ? std::string(err->get_string()) : "unknown";
            reason = "slack api error: " + code;
            retryable = code == "ratelimited" || code == "service_unavailable" || code == "internal_error" ||
                        code == "request_timeout";
          }
        }
      } else {
        reason = "HTTP " + std::to_string(status) + ": " + excerpt(t->response);
        retryable = status == 429 || status == 408 || status >= 500;
      }
    }
    std::string body = t->response;
    if (reason.empty()) {
      int attempts = t->attempts;
      complete(std::move(t), delivery_report{true, attempts, status, {}, std::move(body)});
      return;
    }
    if (!retryable) {
      int attempts = t->attempts;
      complete(std::move(t), delivery_report{false, attempts, status, "permanent failure: " + reason, std::move(body)});
      return;
    }
    if (t->attempts >= options.max_attempts) {
      int attempts = t->attempts;
      complete(std::move(t),
               delivery_report{false, attempts, status,
                               "gave up after " + std::to_string(attempts) + " attempt(s); last error: " + reason,
                               std::move(body)});
      return;
    }
    auto delay = retry_after ? *retry_after : backoff_for(t->attempts);
    retries++;
    log->warn("alert {} {}: {}; retrying in {} ms{} (attempt {}/{})", t->request.method, t->safe_url, reason,
              delay.count(), retry_after ? " (Retry-After)" : "", t->attempts + 1, options.max_attempts);
    waiting.emplace(clock_type::now() + delay, std::move(t));
  }

  void run() {
    while (true) {
      std::deque<std::unique_ptr<transfer>> fresh;
      bool stop_now = false;
      {
        std::lock_guard<std::mutex> guard{mutex};
        fresh.swap(incoming);
        stop_now = stopping;
      }
      if (stop_now) {
        for (auto& t : fresh)
          waiting.emplace(clock_type::now(), std::move(t));
        break;
      }
      for (auto& t : fresh)
        start_attempt(std::move(t));
      auto now = clock_type::now();
      while (!waiting.empty() && waiting.begin()->first <= now) {
        auto node = waiting.extract(waiting.begin());
        start_attempt(std::move(node.mapped()));
      }
      int running = 0;
      curl_multi_perform(multi, &running);
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi, &left))
        if (msg->msg == CURLMSG_DONE)
          finished(msg->easy_handle, msg->data.result);
      long timeout_ms = 1000;
      if (!waiting.empty()) {
        auto until = std::chrono::duration_cast<std::chrono::milliseconds>(waiting.begin()->first - clock_type::now());
        timeout_ms = std::clamp<long>(until.count(), 0, timeout_ms);
      }
      long curl_timeout = -1;
      curl_multi_timeout(multi, &curl_timeout);
      if (curl_timeout >= 0)
        timeout_ms = std::min(timeout_ms, curl_timeout);
      if (timeout_ms > 0)
        curl_multi_poll(multi, nullptr, 0, static_cast<int>(timeout_ms), nullptr);
    }
    // Stopping: everything not completed yet fails, so the owner can dead-letter or re-send it.
    for (auto& [easy, t] : active) {
      curl_multi_remove_handle(multi, easy);
      waiting.emplace(clock_type::now(), std::move(t));
    }
    active.clear();
    while (!waiting.empty()) {
      auto node = waiting.extract(waiting.begin());
      auto t = std::move(node.mapped());
      int attempts = t->attempts;
      complete(std::move(t), delivery_report{false, attempts, 0, "alert client stopped", {}});
    }
  }
};

alert_client::alert_client(alert_client_options options) : impl_(std::make_unique<impl>(std::move(options))) {
  impl_->thread = std::thread([this] { impl_->run(); });
}

alert_client::~alert_client() { stop(); }

bool alert_client::submit(http_request request, completion_handler on_complete) {
  auto t = std::make_unique<transfer>();
  t->safe_url = redact_url(request.url);
  t->request = std::move(request);
  t->done = std::move(on_complete);
  {
    std::lock_guard<std::mutex> guard{impl_->mutex};
    if (impl_->stopping || impl_->in_flight >= impl_->options.max_in_flight) {
      impl_->rejected++;
      return false;
    }
    impl_->in_flight++;
    impl_->incoming.push_back(std::move(t));
    impl_->submitted++;
  }
  curl_multi_wakeup(impl_->multi);
  return true;
}

std::size_t alert_client::in_flight() const noexcept { return impl_->in_flight.load(); }

bool alert_client::drain(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock{impl_->mutex};
  return impl_->drained_cv.wait_for(lock, timeout, [this] { return impl_->in_flight == 0; });
}

void alert_client::stop() {
  {
    std::lock_guard<std::mutex> guard{impl_->mutex};
    impl_->stopping = true;
  }
  curl_multi_wakeup(impl_->multi);
  if (impl_->thread.joinable() && impl_->thread.get_id() != std::this_thread::get_id())
    impl_->thread.join();
}

alert_client_metrics alert_client::metrics() const noexcept {
  return {impl_->submitted.load(), impl_->rejected.load(), impl_->succeeded.load(), impl_->failed.load(),
          impl_->retries.load()};
}

} // namespace sluice
