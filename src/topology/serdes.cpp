#include "topology/serdes.hpp"

#include <charconv>
#include <cmath>

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
  parser_.reset(); // values own their memory: they may be copied and changed on other threads
  boost::system::error_code ec;
  parser_.write(in.data(), in.size(), ec);
  if (ec)
    throw std::invalid_argument("malformed JSON: " + ec.message());
  return parser_.release();
}

namespace {

void write_string(std::string_view s, std::string& out) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  size_t run = 0; // start of the pending run of characters that need no escaping
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool plain = c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20;
    if (plain)
      continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        out += "\\u00";
        out += hex[(c >> 4) & 0xf];
        out += hex[c & 0xf];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

template <class T>
void write_number(T x, std::string& out) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), x);
  out.append(buf, end);
}

} // namespace

void write_json(const boost::json::value& v, std::string& out) {
  switch (v.kind()) {
    case boost::json::kind::null: out += "null"; break;
    case boost::json::kind::bool_: out += v.get_bool() ? "true" : "false"; break;
    case boost::json::kind::int64: write_number(v.get_int64(), out); break;
    case boost::json::kind::uint64: write_number(v.get_uint64(), out); break;
    case boost::json::kind::double_:
      if (std::isfinite(v.get_double()))
        write_number(v.get_double(), out);
      else
        out += "null"; // JSON has no NaN or infinity
      break;
    case boost::json::kind::string: write_string(v.get_string(), out); break;
    case boost::json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& x : v.get_array()) {
        if (!std::exchange(first, false))
          out += ',';
        write_json(x, out);
      }
      out += ']';
      break;
    }
    case boost::json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& [k, x] : v.get_object()) {
        if (!std::exchange(first, false))
          out += ',';
        write_string(k, out);
        out += ':';
        write_json(x, out);
      }
      out += '}';
      break;
    }
  }
}

void json::serialize(const boost::json::value& v, std::string& out) {
  out.clear();
  write_json(v, out);
}

} // namespace sluice::serdes
