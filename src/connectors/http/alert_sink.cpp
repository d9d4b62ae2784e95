#include <sluice/connectors/http/alert_sink.hpp>

#include "connectors/redact.hpp"

#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <ostream>
#include <thread>

namespace sluice {

std::string alert_id(const record_meta& meta) {
  return (meta.topic ? *meta.topic : std::string{}) + "-" + std::to_string(meta.partition) + "-" +
         std::to_string(meta.offset);
}

namespace detail {

struct alert_job {
  std::vector<http_request> requests;
  std::vector<delivery_report> reports;
  alert_sink_core::job_done done;
  std::size_t next = 0;      // next request to submit (pump only)
  std::size_t in_flight = 0; // submitted, not completed
  std::size_t completed = 0;
  bool cancelled = false;
};

namespace {

// What completion handlers touch: never the core itself, so the core may die on any thread.
struct dispatch_queue {
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<std::shared_ptr<alert_job>> waiting; // jobs with requests left to submit
  bool stop = false;
};

expected<message_template> parse_template(const std::string& text, const char* sink) {
  auto t = message_template::parse(text);
  if (!t)
    throw std::invalid_argument(std::string(sink) + ": bad message template: " + t.error().message);
  return t;
}

// A webhook URL is a secret as a whole (whoever has it can post): logs show only its origin.
std::string webhook_origin(const std::string& url) {
  const auto scheme = url.find("://");
  const auto path = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  const auto origin = redact_url(path == std::string::npos ? url : url.substr(0, path));
  return origin + "/" + std::string(redacted_marker);
}

} // namespace

struct alert_sink_core::impl {
  alert_sink_options options;
  std::shared_ptr<spdlog::logger> log;
  std::shared_ptr<dispatch_queue> queue = std::make_shared<dispatch_queue>();
  std::mutex start_mutex;
  std::shared_ptr<alert_client> client; // set by start()
  bool own_client = false;
  std::thread pump;
  std::atomic<std::uint64_t> alerts{0}, delivered{0}, dead_lettered{0}, render_failures{0}, resubmissions{0};

  explicit impl(alert_sink_options o)
      : options(std::move(o)), log(options.logger ? options.logger : spdlog::default_logger()) {}

  void start() {
    std::lock_guard lock{start_mutex};
    if (pump.joinable())
      return;
    client = options.client;
    if (!client) {
      client = std::make_shared<alert_client>(options.client_options);
      own_client = true;
    }
    pump = std::thread([this] { run(); });
  }

  void stop() {
    {
      std::lock_guard lock{queue->mutex};
      queue->stop = true;
    }
    queue->cv.notify_all();
    if (pump.joinable())
      pump.join();
    if (own_client && client)
      client->stop();
  }

  bool submittable(const alert_job& j) const {
    return !j.cancelled && j.next < j.requests.size() && (!options.ordered || j.in_flight == 0);
  }

  // The dispatcher thread: submits waiting requests in FIFO order; when the client is full it
  // waits resubmit_interval (or for a completion) and tries again.
  void run() {
    auto q = queue;
    std::unique_lock lock{q->mutex};
    while (!q->stop) {
      bool refused = false;
      for (auto it = q->waiting.begin(); it != q->waiting.end() && !refused;) {
        auto job = *it;
        while (submittable(*job)) {
          const auto index = job->next++;
          ++job->in_flight;
          auto request = job->requests[index];
          lock.unlock();
          const bool accepted = client->submit(std::move(request), [q, job, index](const delivery_report& r) {
            std::vector<delivery_report> reports;
            job_done done;
            {
              std::lock_guard l{q->mutex};
              job->reports[index] = r;
              --job->in_flight;
              if (++job->completed == job->requests.size() && !job->cancelled) {
                done = std::move(job->done);
                reports = std::move(job->reports);
              }
            }
            q->cv.notify_all();
            if (done)
              done(std::move(reports));
          });
          lock.lock();
          if (!accepted) { // full: undo and come back later
            --job->next;
            --job->in_flight;
            ++resubmissions;
            refused = true;
            break;
          }
        }
        if (job->cancelled || job->next == job->requests.size())
          it = q->waiting.erase(it);
        else
          ++it;
      }
      if (refused) {
        q->cv.wait_for(lock, options.resubmit_interval);
      } else {
        q->cv.wait(lock, [&] {
          if (q->stop)
            return true;
          for (const auto& j : q->waiting)
            if (submittable(*j))
              return true;
          return false;
        });
      }
    }
  }
};

alert_sink_core::alert_sink_core(request_builder build, std::string target, alert_sink_options options)
    : build_(std::move(build)), target_(std::move(target)), impl_(std::make_unique<impl>(std::move(options))) {}

alert_sink_core::~alert_sink_core() { impl_->stop(); }

std::shared_ptr<alert_job> alert_sink_core::dispatch(std::vector<http_request> requests, job_done done) {
  impl_->start();
  auto job = std::make_shared<alert_job>();
  job->reports.resize(requests.size());
  job->requests = std::move(requests);
  job->done = std::move(done);
  impl_->alerts += job->requests.size();
  {
    std::lock_guard lock{impl_->queue->mutex};
    impl_->queue->waiting.push_back(job);
  }
  impl_->queue->cv.notify_all();
  return job;
}

void alert_sink_core::cancel(const std::shared_ptr<alert_job>& job) {
  std::lock_guard lock{impl_->queue->mutex};
  job->cancelled = true;
  job->done = nullptr;
}

void alert_sink_core::count_outcome(const delivery_report& report, const std::string& node, const std::string& task) {
  if (report.ok) {
    ++impl_->delivered;
    return;
  }
  ++impl_->dead_lettered;
  impl_->log->warn("alert {} task {}: not delivered to {} after {} attempt(s): {}; record sent to the dead-letter "
                   "topic",
                   node, task, target_, report.attempts, report.reason);
}

void alert_sink_core::count_render_failure() { ++impl_->render_failures; }

alert_sink_metrics alert_sink_core::metrics() const {
  alert_sink_metrics m;
  m.alerts = impl_->alerts;
  m.delivered = impl_->delivered;
  m.dead_lettered = impl_->dead_lettered;
  m.render_failures = impl_->render_failures;
  m.resubmissions = impl_->resubmissions;
  std::lock_guard lock{impl_->start_mutex};
  if (impl_->client)
    m.retries = impl_->client->metrics().retries;
  return m;
}

} // namespace detail

void http_alert_sink::collect_metrics(const std::string& node, std::vector<metric_sample>& out) const {
  const auto m = metrics();
  auto add = [&](const char* name, const char* help, std::uint64_t v) {
    out.push_back({name, help, metric_type::counter, {{"operator", node}}, static_cast<double>(v)});
  };
  add("sluice_alerts_total", "Alerts handed to an alert sink", m.alerts);
  add("sluice_alert_deliveries_total", "Alerts the endpoint accepted", m.delivered);
  add("sluice_alert_retries_total", "Alert requests retried after a retryable failure (429, 5xx, transport)",
      m.retries);
  add("sluice_alert_failures_total", "Alerts dead-lettered: failed after every attempt, or not renderable",
      m.dead_lettered + m.render_failures);
}

http_alert_sink::http_alert_sink(detail::alert_sink_core::request_builder build, std::string target,
                                 alert_sink_options options)
    : core_(std::make_shared<detail::alert_sink_core>(std::move(build), std::move(target), std::move(options))) {}

slack_webhook_sink::slack_webhook_sink(std::string webhook_url, std::string text_template, alert_sink_options options)
    : http_alert_sink(
        [url = webhook_url, t = detail::parse_template(text_template, "slack_webhook_sink").value()](
          const boost::json::object& fields, const std::string& id) -> expected<http_request> {
          auto text = t.render(fields);
          if (!text)
            return text.error();
          return slack_webhook_request(url, *text, id);
        },
        "Slack webhook " + detail::webhook_origin(webhook_url), std::move(options)) {}

slack_post_message_sink::slack_post_message_sink(std::string token, std::string channel, std::string text_template,
                                                 std::string url, alert_sink_options options)
    : http_alert_sink(
        [api = slack_api_options{token, url}, channel,
         t = detail::parse_template(text_template, "slack_post_message_sink").value()](
          const boost::json::object& fields, const std::string& id) -> expected<http_request> {
          auto text = t.render(fields);
          if (!text)
            return text.error();
          return slack_post_message_request(api, channel, *text, id);
        },
        "Slack chat.postMessage " + redact_url(url) + " channel " + channel, std::move(options)) {
  if (token.empty())
    throw std::invalid_argument("slack_post_message_sink: the bot token is empty");
}

json_webhook_sink::json_webhook_sink(std::string url, std::vector<std::pair<std::string, std::string>> headers,
                                     alert_sink_options options)
    : http_alert_sink(
        [url, headers](const boost::json::object& fields, const std::string& id) -> expected<http_request> {
          return json_webhook_request(url, boost::json::value(fields), id, headers);
        },
        "webhook " + redact_url(url), std::move(options)) {}

console_alert_sink::console_alert_sink(std::string label, std::string text_template, std::ostream* out)
    : label_(std::move(label)), out_(out) {
  if (!text_template.empty())
    template_ =
      std::make_shared<const message_template>(detail::parse_template(text_template, "console_alert_sink").value());
}

expected<std::string> console_alert_sink::format(const boost::json::object& fields) const {
  std::string text;
  if (template_) {
    auto r = template_->render(fields);
    if (!r)
      return r.error();
    text = std::move(*r);
  } else {
    text = boost::json::serialize(fields);
  }
  return "[" + label_ + "] " + text;
}

void console_alert_sink::write_line(const std::string& line) const {
  static std::mutex console_mutex;
  std::lock_guard lock{console_mutex};
  if (out_) {
    *out_ << line << '\n';
    out_->flush();
    return;
  }
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

} // namespace sluice
