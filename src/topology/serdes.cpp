#include "topology/serdes.hpp"

namespace sluice::serdes {

int64_t int64::deserialize(std::string_view in) {
  if (in.size() != 8)
    throw std::invalid_argument("int64 serde expects 8 bytes, got " + std::to_string(in.size()));
  uint64_t v = 0;
  for (unsigned char c : in)
    v = (v << 8) | c;
  return static_cast<int64_t>(v);
}

void int64::serialize(int64_t v, std::string& out) {
  out.resize(8);
  auto u = static_cast<uint64_t>(v);
  for (int i = 7; i >= 0; --i, u >>= 8)
    out[static_cast<size_t>(i)] = static_cast<char>(u & 0xff);
}

boost::json::value json::deserialize(std::string_view in) {
  if (in.empty())
    return nullptr;
  parser_.reset();
  boost::system::error_code ec;
  parser_.write(in.data(), in.size(), ec);
  if (ec)
    throw std::invalid_argument("malformed JSON: " + ec.message());
  return parser_.release();
}

void json::serialize(const boost::json::value& v, std::string& out) {
  out.clear();
  serializer_.reset(&v);
  char buf[4096];
  while (!serializer_.done())
    out.append(serializer_.read(buf, sizeof(buf)));
}

} // namespace sluice::serdes
