#pragma once
// Feeds one whole record batch to one processor on its own, as an operator actor does, for tests and
// benchmarks of that processor alone (whole topologies run on the topology test driver).
// Continuations handed to defer()'s callback run on the calling thread in run_deferred().

#include <sluice/topology/processor.hpp>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace sluice::test {

/// A processor_context that collects forwarded batches and dead-lettered positions.
class batch_harness final : public processor_context {
public:
  /// Batches forwarded so far, in order.
  std::vector<batch_ptr> forwarded;
  /// (record offset, error text) of every processing_failed call.
  std::vector<std::pair<int64_t, std::string>> failed;

  void forward(batch_ptr b, int) override { forwarded.push_back(std::move(b)); }
  int sink_topic(const std::string&) override { return 0; }
  void produce(int, std::string_view, std::string_view, const record_meta&, bool) override {}
  void deserialization_failed(const raw_record& r, const std::exception& e) override {
    failed.emplace_back(r.meta.offset, e.what());
  }
  void processing_failed(const record_meta& meta, std::string_view, const std::exception& e) override {
    failed.emplace_back(meta.offset, e.what());
  }
  const std::string& task_id() const override { return task_; }
  int64_t watermark() const override { return no_watermark; }
  void observe_event_time(int64_t) override {}
  void late_record(const record_meta&, std::string_view) override {}
  key_value_store& key_value_state() override { throw std::logic_error("no store"); }
  window_store& window_state() override { throw std::logic_error("no store"); }

  resume_callback defer() override {
    std::lock_guard lock{mutex_};
    ++deferred_;
    return [this](continuation c) {
      std::lock_guard lock{mutex_};
      ready_.push_back(std::move(c));
      cv_.notify_all();
    };
  }

  /// Deferred batches whose continuation has not run yet.
  int deferred() const {
    std::lock_guard lock{mutex_};
    return deferred_;
  }

  /// Runs continuations until nothing is deferred; false if `timeout` passed first.
  template <class Duration>
  bool run_deferred(Duration timeout) {
    std::unique_lock lock{mutex_};
    while (deferred_ > 0) {
      if (!cv_.wait_for(lock, timeout, [&] { return !ready_.empty(); }))
        return false;
      auto c = std::move(ready_.front());
      ready_.pop_front();
      --deferred_;
      lock.unlock();
      c(*this);
      lock.lock();
    }
    return true;
  }

private:
  std::string task_ = "0_0";
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<continuation> ready_;
  int deferred_ = 0;
};

} // namespace sluice::test
