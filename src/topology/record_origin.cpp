#include <sluice/topology/record_origin.hpp>

#include "topology/text_fields.hpp"

namespace sluice {

namespace {

using detail::parse_int;
using detail::take;

// Two bytes no JSON text starts with, then the fields as unsigned LEB128 varints (offset + 1,
// so that -1 is 0).
constexpr std::string_view magic{"\x00\xd7", 2};

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

bool get_varint(std::string_view& in, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in.empty())
      return false;
    const auto b = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80))
      return true;
  }
  return false;
}

} // namespace

void encode_origin(const record_origin& o, std::string_view payload, std::string& out) {
  out.clear();
  out.append(magic);
  put_varint(out, static_cast<uint64_t>(static_cast<int64_t>(o.source) + 1));
  put_varint(out, static_cast<uint32_t>(o.partition));
  put_varint(out, static_cast<uint64_t>(o.offset + 1));
  put_varint(out, static_cast<uint32_t>(o.ordinal));
  out.append(payload);
}

std::optional<std::pair<record_origin, std::string_view>> decode_origin(std::string_view value) {
  if (!value.starts_with(magic))
    return std::nullopt;
  value.remove_prefix(magic.size());
  uint64_t source = 0, partition = 0, offset = 0, ordinal = 0;
  if (!get_varint(value, source) || !get_varint(value, partition) || !get_varint(value, offset) ||
      !get_varint(value, ordinal) || source > INT32_MAX || partition > INT32_MAX || offset > INT64_MAX ||
      ordinal > INT32_MAX)
    return std::nullopt;
  return std::pair{record_origin{static_cast<int32_t>(source) - 1, static_cast<int32_t>(partition),
                                 static_cast<int64_t>(offset) - 1, static_cast<int32_t>(ordinal)},
                   value};
}

bool origin_filter::admit(const record_origin& o) {
  if (o.source < 0 || o.offset < 0)
    return true;
  auto [it, fresh] = last_.try_emplace({o.source, o.partition}, o.offset, o.ordinal);
  if (fresh)
    return true;
  if (std::pair{o.offset, o.ordinal} <= it->second)
    return false;
  it->second = {o.offset, o.ordinal};
  return true;
}

// "<source>:<partition>:<offset>:<ordinal>" joined by ',' ("-" when empty).
std::string origin_filter::save() const {
  if (last_.empty())
    return "-";
  std::string out;
  for (const auto& [sp, pos] : last_) {
    if (!out.empty())
      out += ',';
    out += std::to_string(sp.first) + ':' + std::to_string(sp.second) + ':' + std::to_string(pos.first) + ':' +
           std::to_string(pos.second);
  }
  return out;
}

bool origin_filter::restore(std::string_view text) {
  if (text == "-") {
    last_.clear();
    return true;
  }
  decltype(last_) restored;
  while (!text.empty()) {
    auto entry = take(text, ',');
    auto s = parse_int(take(entry, ':'));
    auto p = parse_int(take(entry, ':'));
    auto o = parse_int(take(entry, ':'));
    auto k = parse_int(entry);
    if (!s || !p || !o || !k || *s < 0 || *p < 0 || *o < 0 || *k < 0 || *s > INT32_MAX || *p > INT32_MAX ||
        *k > INT32_MAX)
      return false;
    restored[{static_cast<int32_t>(*s), static_cast<int32_t>(*p)}] = {*o, static_cast<int32_t>(*k)};
  }
  if (restored.empty())
    return false;
  last_ = std::move(restored);
  return true;
}

} // namespace sluice
