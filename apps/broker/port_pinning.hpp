#pragma once
// Pins the mock brokers' listening ports. librdkafka 2.0.2 binds each mock broker to 127.0.0.1 port
// 0 (ephemeral). port_pinning.cpp defines bind() in the executable, which the dynamic linker prefers
// over libc's for librdkafka too; while armed, it maps the k-th AF_INET bind to port 0 onto
// base_port + k and forwards everything else unchanged to libc's bind (dlsym(RTLD_NEXT)).
// Only link this into executables (never into a library), and arm it only around the creation of
// the mock cluster.

#include <cstdint>
#include <string>

namespace sluice::port_pinning {

// Returns "" if 127.0.0.1:port can be bound right now (checked with a throwaway socket), otherwise
// the reason (e.g. "Address already in use").
std::string probe(std::uint16_t port);

// From now on, the k-th (k = 0, 1, ...) AF_INET bind() to port 0 binds base_port + k instead.
// If such a pinned bind() fails, the process prints the reason to stderr and exits with code 1:
// librdkafka 2.0.2 would otherwise abort (assertion in rd_kafka_mock_cluster_destroy).
void arm(std::uint16_t base_port);

// Stops mapping; later bind() calls are passed through unchanged.
void disarm();

} // namespace sluice::port_pinning
