#pragma once
// Alert sinks of the DSL: `stream.alert(slack_webhook_sink{url, "host:{hostname} ..."})`.
//
// Per batch the processor renders each record (its value as a JSON object) into a request,
// hands the requests to a shared alert_client (curl multi on its own thread, retries, 429
// Retry-After) and holds the node's input back (processor_context::defer) until every alert of
// the batch is delivered or has failed after the client's max attempts. A failed alert goes to
// the dead-letter topic with the reason; the batch then completes, so the commit marker passes
// only after every alert before it was delivered or dead-lettered (at-least-once). When the
// client is full (max_in_flight), submission is retried later by the sink's dispatcher thread;
// the thread that carries records never blocks. Tokens and webhook secrets are never logged.
//
// Record → fields: a JSON object value is used as is; any other value v becomes {"value": v};
// either way the field "alert_id" is set to the alert's id (`alert_id`). The records an alert
// sink sees come from its alerts topic (stream::alert), so the id names the record read there:
// HTTP sinks send it as the `Idempotency-Key` header and as "alert_id" in the JSON body, and a
// redelivered alert (at-least-once) carries the same id.

#include <sluice/connectors/http/alert_client.hpp>
#include <sluice/connectors/http/alert_requests.hpp>
#include <sluice/connectors/http/message_template.hpp>
#include <sluice/topology/metric.hpp>
#include <sluice/topology/processor.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace spdlog {
class logger;
}

namespace sluice {

/// Settings shared by the HTTP alert sinks.
struct alert_sink_options {
  /// Client to deliver through (share one between sinks); null = the sink starts its own client
  /// with `client_options` when its first processor is made.
  std::shared_ptr<alert_client> client = nullptr;
  /// Options of the sink's own client (retries, backoff, max_in_flight…); unused with `client`.
  alert_client_options client_options = {};
  /// When the client refuses a request (max_in_flight reached), retry submission after this long
  /// (sooner when one of this sink's requests completes).
  std::chrono::milliseconds resubmit_interval = std::chrono::milliseconds{20};
  /// Deliver a task's alerts one at a time in record order (slower); false = up to the client's
  /// max_in_flight concurrently, so a retried alert may arrive after a later one.
  bool ordered = false;
  /// Logger for failed alerts (targets redacted); null = spdlog's default logger.
  std::shared_ptr<spdlog::logger> logger = nullptr;
};

/// Counters of one alert sink, summed over its processors; monotonic.
struct alert_sink_metrics {
  std::uint64_t alerts = 0;          ///< Alerts handed to the dispatcher.
  std::uint64_t delivered = 0;       ///< Alerts the endpoint accepted.
  std::uint64_t dead_lettered = 0;   ///< Alerts that failed after all attempts (sent to the DLQ).
  std::uint64_t render_failures = 0; ///< Records whose message could not be rendered (sent to the DLQ).
  std::uint64_t resubmissions = 0;   ///< Times the client was full and submission was retried later.
  std::uint64_t retries = 0;         ///< Attempts retried after a retryable failure (429, 5xx, transport).
};

/// The id of the alert made from the record at `meta` (a record of its alerts topic):
/// "<topic>-<partition>-<offset>", the same every time that record is read.
std::string alert_id(const record_meta& meta);

namespace detail {

/// A record value as the fields a template or webhook sees, with "alert_id" set to `id`.
template <class V>
boost::json::object alert_fields(const V& value, const std::string& id) {
  boost::json::object fields;
  if constexpr (std::is_same_v<V, boost::json::value>) {
    if (const auto* o = value.if_object())
      fields = *o;
    else
      fields = {{"value", value}};
  } else if constexpr (std::is_same_v<V, boost::json::object>) {
    fields = value;
  } else {
    fields = {{"value", boost::json::value_from(value)}};
  }
  fields["alert_id"] = id;
  return fields;
}

/// The alerts of one batch on their way through the dispatcher.
struct alert_job;

/// The shared part of an HTTP alert sink: request builder, client, dispatcher thread, counters.
class alert_sink_core {
public:
  /// Turns an alert's fields and id into the request to send, or an error (bad template field).
  using request_builder = std::function<expected<http_request>(const boost::json::object&, const std::string&)>;
  /// Called once with every report of a job, in request order (on the client thread).
  using job_done = std::function<void(std::vector<delivery_report>)>;

  /// `target` is a redacted description of the endpoint for logs.
  alert_sink_core(request_builder build, std::string target, alert_sink_options options);
  /// Stops the dispatcher thread and (if owned) the client.
  ~alert_sink_core();
  alert_sink_core(const alert_sink_core&) = delete;
  alert_sink_core& operator=(const alert_sink_core&) = delete;

  /// The request for one alert.
  expected<http_request> build(const boost::json::object& fields, const std::string& alert_id) const {
    return build_(fields, alert_id);
  }

  /// Starts delivering `requests`; `done` runs once all completed. Returns a handle for cancel().
  std::shared_ptr<alert_job> dispatch(std::vector<http_request> requests, job_done done);

  /// Stops submitting the job's remaining requests and suppresses its `done` (processor closed).
  void cancel(const std::shared_ptr<alert_job>& job);

  /// Counts and logs a delivered or dead-lettered alert (called on the node's thread).
  void count_outcome(const delivery_report& report, const std::string& node, const std::string& task);
  /// Counts a record whose message could not be rendered.
  void count_render_failure();

  /// Snapshot of the counters.
  alert_sink_metrics metrics() const;

  /// Redacted endpoint description.
  const std::string& target() const { return target_; }

private:
  struct impl;
  request_builder build_;
  std::string target_;
  std::unique_ptr<impl> impl_;
};

/// Processor of one task for an HTTP alert sink.
template <class K, class V>
class http_alert_processor final : public processor {
public:
  http_alert_processor(std::shared_ptr<alert_sink_core> core, std::string name)
      : core_(std::move(core)), name_(std::move(name)) {}

  ~http_alert_processor() override {
    for (auto& j : jobs_)
      if (auto job = j.lock())
        core_->cancel(job);
  }

  void process(const batch_ptr& in, processor_context& ctx) override {
    const auto& b = static_cast<const record_batch<K, V>&>(*in);
    std::vector<http_request> requests;
    std::vector<record_meta> metas;
    requests.reserve(b.records.size());
    metas.reserve(b.records.size());
    for (const auto& r : b.records) {
      try {
        const auto id = alert_id(r.meta);
        auto req = core_->build(alert_fields(r.value, id), id);
        if (!req)
          throw std::runtime_error("alert " + name_ + ": " + req.error().message);
        requests.push_back(std::move(*req));
        metas.push_back(r.meta);
        ctx.alert_sent(requests.back().body);
      } catch (const std::exception& e) {
        core_->count_render_failure();
        ctx.processing_failed(r.meta, name_, e);
      }
    }
    if (requests.empty())
      return;
    auto resume = ctx.defer();
    std::erase_if(jobs_, [](const std::weak_ptr<alert_job>& j) { return j.expired(); });
    jobs_.push_back(core_->dispatch(
      std::move(requests), [this, resume, metas = std::move(metas)](std::vector<delivery_report> reports) {
        // Client thread: only hand the outcome to the node's thread.
        resume([this, metas, reports = std::move(reports)](processor_context& c) { finish(metas, reports, c); });
      }));
  }

private:
  void finish(const std::vector<record_meta>& metas, const std::vector<delivery_report>& reports,
              processor_context& ctx) {
    for (std::size_t i = 0; i < reports.size(); ++i) {
      core_->count_outcome(reports[i], name_, ctx.task_id());
      if (!reports[i].ok)
        ctx.processing_failed(metas[i], name_,
                              std::runtime_error("alert not delivered to " + core_->target() + " after " +
                                                 std::to_string(reports[i].attempts) +
                                                 " attempt(s): " + reports[i].reason));
    }
  }

  std::shared_ptr<alert_sink_core> core_;
  std::string name_;
  std::vector<std::weak_ptr<alert_job>> jobs_;
};

} // namespace detail

/// Base of the HTTP alert sinks: copies share one client, dispatcher and counters.
class http_alert_sink {
public:
  /// Makes the processor of one task (called by the DSL, once per task).
  template <class K, class V>
  std::unique_ptr<processor> make_processor(const std::string& node) const {
    return std::make_unique<detail::http_alert_processor<K, V>>(core_, node);
  }

  /// Counters summed over every processor of this sink (and its copies); thread-safe.
  alert_sink_metrics metrics() const { return core_->metrics(); }

  /// Appends this sink's counters, labelled `operator="<node>"`, to a scrape (/metrics).
  void collect_metrics(const std::string& node, std::vector<metric_sample>& out) const;

  /// The endpoint with secrets redacted, as logs show it.
  const std::string& target() const { return core_->target(); }

protected:
  /// For the concrete sinks.
  http_alert_sink(detail::alert_sink_core::request_builder build, std::string target, alert_sink_options options);

private:
  std::shared_ptr<detail::alert_sink_core> core_;
};

/// Slack incoming webhook: POSTs {"text": <template rendered over the alert's fields>, "alert_id"}
/// to `webhook_url`.
/// The URL is a secret (it is redacted in logs). Throws std::invalid_argument on a bad template.
class slack_webhook_sink : public http_alert_sink {
public:
  /// E.g. slack_webhook_sink{url, "host:{hostname} CPU: {cpu} ..."}.
  slack_webhook_sink(std::string webhook_url, std::string text_template, alert_sink_options options = {});
};

/// Slack Web API chat.postMessage with a bot token: {"channel", "text", "alert_id"}; success needs
/// "ok": true, "ratelimited" and 429 are retried. Throws std::invalid_argument on a bad template or
/// empty token.
class slack_post_message_sink : public http_alert_sink {
public:
  /// `url` overrides the endpoint (tests, proxies).
  slack_post_message_sink(std::string token, std::string channel, std::string text_template,
                          std::string url = std::string(slack_post_message_url), alert_sink_options options = {});
};

/// Generic JSON webhook: POSTs each alert's fields ("alert_id" among them) as JSON to `url`, with
/// `headers` (e.g. an Authorization header; header values are redacted in logs).
class json_webhook_sink : public http_alert_sink {
public:
  /// Any 2xx answer counts as delivered.
  explicit json_webhook_sink(std::string url, std::vector<std::pair<std::string, std::string>> headers = {},
                             alert_sink_options options = {});
};

/// Prints each alert as one line "[<label>] <text>" to stdout (or `out`): the demo's sink when no
/// Slack is configured. `text_template` empty = the alert's fields as compact JSON. Synchronous (no
/// defer).
class console_alert_sink {
public:
  /// Throws std::invalid_argument on a bad template. `out` must outlive the topology's tasks.
  explicit console_alert_sink(std::string label = "ALERT", std::string text_template = "", std::ostream* out = nullptr);

  /// Makes the processor of one task (called by the DSL).
  template <class K, class V>
  std::unique_ptr<processor> make_processor(const std::string& node) const;

  /// The line printed for `fields` (without newline), or the template error.
  expected<std::string> format(const boost::json::object& fields) const;

  /// Writes one line (with newline) atomically with respect to other console sinks.
  void write_line(const std::string& line) const;

private:
  std::string label_;
  std::shared_ptr<const message_template> template_; // null = compact JSON
  std::ostream* out_;
};

namespace detail {

/// Processor of one task for the console sink.
template <class K, class V>
class console_alert_processor final : public processor {
public:
  console_alert_processor(console_alert_sink sink, std::string name) : sink_(std::move(sink)), name_(std::move(name)) {}

  void process(const batch_ptr& in, processor_context& ctx) override {
    const auto& b = static_cast<const record_batch<K, V>&>(*in);
    for (const auto& r : b.records) {
      auto line = sink_.format(alert_fields(r.value, alert_id(r.meta)));
      if (!line) {
        ctx.processing_failed(r.meta, name_, std::runtime_error("alert " + name_ + ": " + line.error().message));
        continue;
      }
      sink_.write_line(*line);
      ctx.alert_sent(*line);
    }
  }

private:
  console_alert_sink sink_;
  std::string name_;
};

} // namespace detail

template <class K, class V>
std::unique_ptr<processor> console_alert_sink::make_processor(const std::string& node) const {
  return std::make_unique<detail::console_alert_processor<K, V>>(*this, node);
}

} // namespace sluice
