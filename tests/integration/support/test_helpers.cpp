#include "test_helpers.hpp"

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <unistd.h>

#include <atomic>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace sluice::test {

std::string unique_name(const std::string& prefix) {
  static std::atomic<int> counter{0};
  static const auto salt = std::random_device{}() % 100000;
  return prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(salt) + "-" + std::to_string(++counter);
}

temp_dir::temp_dir(const std::string& prefix) {
  std::string templ = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (mkdtemp(templ.data()) == nullptr)
    throw std::runtime_error("mkdtemp failed");
  path = templ;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

std::string tail_of(const child_process& child) {
  const auto text = child.stderr_text();
  return text.size() <= 4000 ? text : "..." + text.substr(text.size() - 4000);
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(poll);
  }
  return true;
}

std::vector<consumed_record> read_all(const kafka_test_client& client, const std::string& topic,
                                      std::chrono::milliseconds idle) {
  consume_options options;
  options.stop_at_end = true;
  options.idle_timeout = idle;
  options.total_timeout = std::chrono::seconds{30};
  return client.consume(topic, options);
}

http_answer http_get(const std::string& base, const std::string& path) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  using tcp = boost::asio::ip::tcp;
  // base: http://host:port/
  auto rest = base.substr(base.find("//") + 2);
  rest = rest.substr(0, rest.find('/'));
  const auto colon = rest.rfind(':');
  boost::asio::io_context io;
  tcp::resolver resolver{io};
  beast::tcp_stream stream{io};
  stream.expires_after(std::chrono::seconds(30));
  stream.connect(resolver.resolve(rest.substr(0, colon), rest.substr(colon + 1)));
  http::request<http::empty_body> request{http::verb::get, path, 11};
  request.set(http::field::host, rest);
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return {static_cast<int>(response.result_int()), response.body()};
}

std::optional<double> metric_sum(const std::string& metrics, const std::string& name,
                                 const std::vector<std::pair<std::string, std::string>>& labels) {
  std::optional<double> sum;
  std::istringstream in{metrics};
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#')
      continue;
    const auto end_of_name = line.find_first_of("{ ");
    if (line.compare(0, end_of_name, name) != 0 || end_of_name != name.size())
      continue;
    const auto space = line.rfind(' ');
    const auto label_text = line.substr(end_of_name, space - end_of_name);
    bool match = true;
    for (const auto& [k, v] : labels)
      match = match && label_text.find(k + "=\"" + v + "\"") != std::string::npos;
    if (match)
      sum = sum.value_or(0) + std::stod(line.substr(space + 1));
  }
  return sum;
}

} // namespace sluice::test
