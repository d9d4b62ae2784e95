#include <sluice/topology/serdes.hpp>

#include <sluice/state/big_endian.hpp>

#include <boost/json/basic_parser_impl.hpp>

#include <charconv>
#include <cmath>

namespace sluice::serdes {

int64_t int64::deserialize(std::string_view in) {
  if (in.size() != 8)
    throw std::invalid_argument("int64 serde expects 8 bytes, got " + std::to_string(in.size()));
  return big_endian::read_i64(in);
}

void int64::serialize(int64_t v, std::string& out) {
  out.clear();
  big_endian::append_i64(out, v);
}

boost::json::value json::deserialize(std::string_view in) { return deserialize(in, {}); }

boost::json::value json::deserialize(std::string_view in, boost::json::storage_ptr storage) {
  if (in.empty())
    return boost::json::value(nullptr, std::move(storage));
  return parse_json(in, std::move(storage));
}

namespace {

// The correctly rounded double of JSON number `text`; `approx` (Boost.JSON's own reading, which
// can be an ulp off) only where the value overflows to infinity or underflows to zero, where
// Boost.JSON's signed infinity or zero is already the rounded result.
double exact_double(std::string_view text, double approx) {
  double d;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
  return ec == std::errc{} && end == text.data() + text.size() ? d : approx;
}

// Boost.JSON's DOM-building handler (boost::json::parser's), except that doubles are read again
// from their text by std::from_chars. `exact_parser` hands over the whole document in one
// final write, so each number's text arrives whole with its value (a number is split into
// parts only when the parser suspends for more input) and nothing needs copying.
struct exact_handler {
  static constexpr std::size_t max_object_size = boost::json::object::max_size();
  static constexpr std::size_t max_array_size = boost::json::array::max_size();
  static constexpr std::size_t max_key_size = boost::json::string::max_size();
  static constexpr std::size_t max_string_size = boost::json::string::max_size();

  boost::json::value_stack st;

  using error_code = boost::system::error_code;
  using string_view = boost::json::string_view;
  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_object_begin(error_code&) { return true; }
  bool on_object_end(std::size_t n, error_code&) {
    st.push_object(n);
    return true;
  }
  bool on_array_begin(error_code&) { return true; }
  bool on_array_end(std::size_t n, error_code&) {
    st.push_array(n);
    return true;
  }
  bool on_key_part(string_view s, std::size_t, error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_key(string_view s, std::size_t, error_code&) {
    st.push_key(s);
    return true;
  }
  bool on_string_part(string_view s, std::size_t, error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(string_view s, std::size_t, error_code&) {
    st.push_string(s);
    return true;
  }
  bool on_number_part(string_view, error_code&) { return true; } // only before a truncation error
  bool on_int64(std::int64_t i, string_view, error_code&) {
    st.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, string_view, error_code&) {
    st.push_uint64(u);
    return true;
  }
  bool on_double(double approx, string_view text, error_code&) {
    st.push_double(exact_double({text.data(), text.size()}, approx));
    return true;
  }
  bool on_bool(bool b, error_code&) {
    st.push_bool(b);
    return true;
  }
  bool on_null(error_code&) {
    st.push_null();
    return true;
  }
  bool on_comment_part(string_view, error_code&) { return true; }
  bool on_comment(string_view, error_code&) { return true; }
};

// One parser per thread, reused so its temporary stack is allocated once.
class exact_parser {
public:
  boost::json::value parse(std::string_view text, boost::json::storage_ptr storage) {
    parser_.reset();
    parser_.handler().st.reset(std::move(storage));
    boost::system::error_code ec;
    const auto used = parser_.write_some(false, text.data(), text.size(), ec); // all of it, final
    if (!ec && used != text.size())
      ec = boost::json::error::extra_data;
    if (ec)
      throw std::invalid_argument("malformed JSON: " + ec.message());
    return parser_.handler().st.release();
  }

private:
  boost::json::basic_parser<exact_handler> parser_{boost::json::parse_options{}};
};

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
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    case '\b':
      out += "\\b";
      break;
    case '\f':
      out += "\\f";
      break;
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

// `typed`: integral doubles get a fraction ("95.0"), so they read back as doubles.
void write_value(const boost::json::value& v, std::string& out, bool typed) {
  switch (v.kind()) {
  case boost::json::kind::null:
    out += "null";
    break;
  case boost::json::kind::bool_:
    out += v.get_bool() ? "true" : "false";
    break;
  case boost::json::kind::int64:
    write_number(v.get_int64(), out);
    break;
  case boost::json::kind::uint64:
    write_number(v.get_uint64(), out);
    break;
  case boost::json::kind::double_:
    if (!std::isfinite(v.get_double()))
      out += "null"; // JSON has no NaN or infinity
    else if (v.get_double() == 0 && std::signbit(v.get_double()))
      out += "-0.0"; // "-0" would read back as the integer 0
    else {
      const auto start = out.size();
      write_number(v.get_double(), out);
      if (typed && out.find_first_of(".e", start) == std::string::npos)
        out += ".0";
    }
    break;
  case boost::json::kind::string:
    write_string(v.get_string(), out);
    break;
  case boost::json::kind::array: {
    out += '[';
    bool first = true;
    for (const auto& x : v.get_array()) {
      if (!std::exchange(first, false))
        out += ',';
      write_value(x, out, typed);
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
      write_value(x, out, typed);
    }
    out += '}';
    break;
  }
  }
}

} // namespace

boost::json::value parse_json(std::string_view text, boost::json::storage_ptr storage) {
  thread_local exact_parser parser;
  return parser.parse(text, std::move(storage));
}

void write_json(const boost::json::value& v, std::string& out) { write_value(v, out, false); }

void json::serialize(const boost::json::value& v, std::string& out) {
  out.clear();
  write_json(v, out);
}

void typed_json::serialize(const boost::json::value& v, std::string& out) {
  out.clear();
  write_value(v, out, true);
}

} // namespace sluice::serdes
