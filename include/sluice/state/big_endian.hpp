// Fixed-width big-endian integers: the byte order of sluice's stored keys, values and checkpoints,
// and of Kafka's LongSerializer. For unsigned values byte order is numeric order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::big_endian {

/// Appends the `Bytes` low bytes of `v` to `out`, most significant first.
template <std::size_t Bytes>
void append(std::string& out, std::uint64_t v) {
  char b[Bytes];
  for (std::size_t i = Bytes; i-- > 0; v >>= 8)
    b[i] = static_cast<char>(v & 0xff);
  out.append(b, Bytes);
}

/// The value of the first `Bytes` bytes of `in`, most significant first; `in` must hold that many.
template <std::size_t Bytes>
std::uint64_t read(std::string_view in) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < Bytes; ++i)
    v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

/// Appends the 8 bytes of `v` (two's complement), most significant first.
inline void append_i64(std::string& out, std::int64_t v) { append<8>(out, static_cast<std::uint64_t>(v)); }

/// The int64 of the first 8 bytes of `in`, as `append_i64` wrote it; `in` must hold at least 8.
inline std::int64_t read_i64(std::string_view in) { return static_cast<std::int64_t>(read<8>(in)); }

} // namespace sluice::big_endian
