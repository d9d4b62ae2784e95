#include "actors/http_server.hpp"

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <stdexcept>
#include <thread>

namespace sluice {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

/// One connection: reads requests and answers them in order until the client closes, an error,
/// or 30 s without a request.
class session : public std::enable_shared_from_this<session> {
public:
  session(tcp::socket socket, const http_handler& handler) : stream_(std::move(socket)), handler_(handler) {}

  void read() {
    request_ = {};
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buffer_, request_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (!ec)
        self->answer();
    });
  }

private:
  void answer() {
    http_response r;
    if (request_.method() != http::verb::get && request_.method() != http::verb::head) {
      r = {405, "text/plain; charset=utf-8", "only GET is served\n"};
    } else {
      try {
        r = handler_(std::string_view{request_.target().data(), request_.target().size()});
      } catch (const std::exception& e) {
        r = {500, "text/plain; charset=utf-8", std::string{e.what()} + "\n"};
      }
    }
    response_ = {static_cast<http::status>(r.status), request_.version()};
    response_.set(http::field::server, "sluice");
    response_.set(http::field::content_type, r.content_type);
    response_.set(http::field::cache_control, "no-store");
    response_.keep_alive(request_.keep_alive());
    if (request_.method() != http::verb::head)
      response_.body() = std::move(r.body);
    response_.prepare_payload();
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec || !self->response_.keep_alive()) {
        beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        return;
      }
      self->read();
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  const http_handler& handler_;
};

} // namespace

struct http_server::impl {
  http_handler handler;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  uint16_t port = 0;
  std::thread thread;

  void accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted)
        return;
      if (!ec)
        std::make_shared<session>(std::move(socket), handler)->read();
      accept();
    });
  }
};

http_server::http_server(const std::string& address, http_handler handler) : impl_(std::make_unique<impl>()) {
  impl_->handler = std::move(handler);
  const auto colon = address.rfind(':');
  if (colon == std::string::npos)
    throw std::runtime_error("HTTP address must be host:port, got '" + address + "'");
  const auto host = address.substr(0, colon);
  const auto port = static_cast<uint16_t>(std::stoi(address.substr(colon + 1)));
  const bool loopback = host == "localhost" || host.starts_with("127.");
  const tcp::endpoint endpoint{loopback ? asio::ip::address_v4::loopback() : asio::ip::address_v4::any(), port};
  beast::error_code ec;
  auto& a = impl_->acceptor;
  if (a.open(endpoint.protocol(), ec) || a.set_option(asio::socket_base::reuse_address(true), ec) ||
      a.bind(endpoint, ec) || a.listen(asio::socket_base::max_listen_connections, ec))
    throw std::runtime_error("cannot serve HTTP on " + address + ": " + ec.message());
  impl_->port = a.local_endpoint().port();
  impl_->accept();
  impl_->thread = std::thread([d = impl_.get()] { d->io.run(); });
}

http_server::~http_server() {
  asio::post(impl_->io, [d = impl_.get()] {
    beast::error_code ignored;
    d->acceptor.close(ignored);
    d->io.stop(); // open sessions are dropped with the context
  });
  impl_->thread.join();
}

uint16_t http_server::port() const { return impl_->port; }

http_response http_get(const std::string& server, std::string_view target, std::chrono::milliseconds timeout) {
  const auto colon = server.rfind(':');
  if (colon == std::string::npos)
    throw std::runtime_error("HTTP address must be host:port, got '" + server + "'");
  try {
    asio::io_context io;
    tcp::resolver resolver{io};
    beast::tcp_stream stream{io};
    stream.expires_after(timeout);
    stream.connect(resolver.resolve(server.substr(0, colon), server.substr(colon + 1)));
    http::request<http::empty_body> request{http::verb::get, beast::string_view{target.data(), target.size()}, 11};
    request.set(http::field::host, server);
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(stream, buffer, response);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return {static_cast<int>(response.result_int()), std::string{response[http::field::content_type]},
            std::move(response.body())};
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("GET http://" + server + std::string{target} + ": " + e.code().message());
  }
}

} // namespace sluice
