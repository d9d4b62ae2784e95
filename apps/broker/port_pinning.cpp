#include "port_pinning.hpp"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace {

std::atomic<bool> armed{false};
std::atomic<int> next_port{0};

using bind_fn = int (*)(int, const sockaddr*, socklen_t);

bind_fn real_bind() {
  static const auto fn = reinterpret_cast<bind_fn>(dlsym(RTLD_NEXT, "bind"));
  return fn;
}

// Binds fd to addr with SO_REUSEADDR: a restarted broker may reuse its port while old connections
// linger in TIME_WAIT; Linux still refuses a second listener on the same port.
int bind_reusable(int fd, const sockaddr_in& addr) {
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  return real_bind()(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
}

} // namespace

namespace sluice::port_pinning {

std::string probe(std::uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return std::strerror(errno);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  std::string reason;
  if (bind_reusable(fd, addr) != 0 || listen(fd, 1) != 0)
    reason = std::strerror(errno);
  close(fd);
  return reason;
}

void arm(std::uint16_t base_port) {
  next_port = base_port;
  armed = true;
}

void disarm() { armed = false; }

} // namespace sluice::port_pinning

// Interposes libc's bind() for the whole process (see port_pinning.hpp).
extern "C" int bind(int fd, const sockaddr* addr, socklen_t len) {
  if (!armed || addr == nullptr || addr->sa_family != AF_INET || len < sizeof(sockaddr_in) ||
      reinterpret_cast<const sockaddr_in*>(addr)->sin_port != 0)
    return real_bind()(fd, addr, len);
  sockaddr_in pinned = *reinterpret_cast<const sockaddr_in*>(addr);
  const int port = next_port.fetch_add(1);
  pinned.sin_port = htons(static_cast<std::uint16_t>(port));
  const int rc = bind_reusable(fd, pinned);
  if (rc != 0) {
    char host[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &pinned.sin_addr, host, sizeof(host));
    std::fprintf(stderr, "sluice-broker: cannot listen on %s:%d: %s\n", host, port, std::strerror(errno));
    _exit(1);
  }
  return rc;
}
