#include "http_receiver.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>

namespace sluice::test {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

std::string recorded_request::header(std::string_view name) const {
  auto eq = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
  };
  for (const auto& [k, v] : headers)
    if (eq(k, name))
      return v;
  return {};
}

struct http_receiver::impl {
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::thread accept_thread;
  std::atomic<bool> stopped{false};

  mutable std::mutex mutex;
  mutable std::condition_variable cv; // new requests, stop
  std::deque<scripted_response> script;
  scripted_response fallback;
  std::vector<recorded_request> received;
  std::vector<std::shared_ptr<tcp::socket>> sockets;
  std::vector<std::thread> workers;

  void serve(std::shared_ptr<tcp::socket> sock) {
    boost::beast::flat_buffer buffer;
    while (!stopped) {
      http::request<http::string_body> req;
      boost::system::error_code ec;
      http::read(*sock, buffer, req, ec);
      if (ec)
        break;
      recorded_request rec;
      rec.method = std::string(req.method_string());
      rec.target = std::string(req.target());
      for (const auto& field : req)
        rec.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
      rec.body = req.body();
      rec.received = std::chrono::steady_clock::now();
      scripted_response answer;
      {
        std::unique_lock<std::mutex> lock{mutex};
        if (!script.empty()) {
          answer = std::move(script.front());
          script.pop_front();
        } else {
          answer = fallback;
        }
        rec.answered = answer.status;
        received.push_back(std::move(rec));
        cv.notify_all();
        if (answer.delay.count() > 0)
          cv.wait_for(lock, answer.delay, [this] { return stopped.load(); });
      }
      if (stopped)
        break;
      http::response<http::string_body> res{static_cast<http::status>(answer.status), req.version()};
      res.set(http::field::server, "sluice-test-receiver");
      res.set(http::field::content_type, answer.content_type);
      for (const auto& [k, v] : answer.headers)
        res.set(k, v);
      res.body() = answer.body;
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      http::write(*sock, res, ec);
      if (ec || !res.keep_alive())
        break;
    }
    boost::system::error_code ignored;
    sock->shutdown(tcp::socket::shutdown_both, ignored);
  }

  void accept_loop() {
    while (!stopped) {
      auto sock = std::make_shared<tcp::socket>(ioc);
      boost::system::error_code ec;
      acceptor.accept(*sock, ec);
      if (ec || stopped)
        break;
      std::lock_guard<std::mutex> guard{mutex};
      sockets.push_back(sock);
      workers.emplace_back([this, sock] { serve(sock); });
    }
  }
};

http_receiver::http_receiver() : impl_(std::make_unique<impl>()) {
  tcp::endpoint ep{asio::ip::make_address("127.0.0.1"), 0};
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  impl_->accept_thread = std::thread([this] { impl_->accept_loop(); });
}

http_receiver::~http_receiver() { stop(); }

std::string http_receiver::url(std::string_view target) const {
  return "http://127.0.0.1:" + std::to_string(port_) + std::string(target);
}

void http_receiver::enqueue(scripted_response response, std::size_t times) {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  for (std::size_t i = 0; i < times; ++i)
    impl_->script.push_back(response);
}

void http_receiver::set_default(scripted_response response) {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  impl_->fallback = std::move(response);
}

std::vector<recorded_request> http_receiver::requests() const {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  return impl_->received;
}

std::size_t http_receiver::request_count() const {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  return impl_->received.size();
}

bool http_receiver::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock{impl_->mutex};
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->received.size() >= n; });
}

void http_receiver::stop() {
  if (impl_->stopped.exchange(true))
    return;
  // shutdown(2) on the native handles wakes the blocking accept/read calls of the other threads.
  ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
  impl_->cv.notify_all();
  if (impl_->accept_thread.joinable())
    impl_->accept_thread.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> guard{impl_->mutex};
    for (auto& s : impl_->sockets)
      ::shutdown(s->native_handle(), SHUT_RDWR);
    workers.swap(impl_->workers);
  }
  impl_->cv.notify_all();
  for (auto& w : workers)
    w.join();
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
}

} // namespace sluice::test
