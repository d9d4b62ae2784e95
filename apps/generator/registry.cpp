// The list of sluice-gen scenarios. Add one line per scenario (and its scenario_<name>.cpp).

#include "scenario.hpp"

#include <array>
#include <charconv>

namespace sluice::gen {

std::unique_ptr<scenario> make_cpu_scenario();
std::unique_ptr<scenario> make_pizza_scenario();
std::unique_ptr<scenario> make_temperature_scenario();
std::unique_ptr<scenario> make_logs_scenario();
std::unique_ptr<scenario> make_transactions_scenario();
std::unique_ptr<scenario> make_ratings_scenario();
std::unique_ptr<scenario> make_ops_scenario();

const std::vector<scenario_info>& scenarios() {
  static const std::vector<scenario_info> all = {
    {"cpu", "IoT CPU-load readings of seven hosts (usage in [70, 100))", "cpu_load_stats_real", &make_cpu_scenario},
    {"pizza", "pizza orders with toppings (prohibited-topping bursts, per-topping trends)", "pizzas",
     &make_pizza_scenario},
    {"temperature", "temperature of machines 0-2; machine 2 overheats until 100 C", "temperature_readings",
     &make_temperature_scenario},
    {"logs", "web server log lines (bursts of ERROR)", "logs_topic", &make_logs_scenario},
    {"transactions", "bank deposits and withdrawals (large withdrawals, fraudulent users)", "transactions_topic",
     &make_transactions_scenario},
    {"ratings", "product ratings 1-5 (some products consistently rated badly)", "ratings_topic",
     &make_ratings_scenario},
    {"ops",
     "logs, transactions and ratings interleaved into logs_topic, transactions_topic and "
     "ratings_topic (--topic is ignored; --print writes TOPIC<TAB>KEY<TAB>VALUE)",
     "logs_topic,transactions_topic,ratings_topic", &make_ops_scenario},
  };
  return all;
}

void append_double(std::string& out, double value) {
  char buffer[64];
  // Python's repr: positional notation for 1e-4 <= |value| < 1e16 (1700000000.0, not 1.7e+09).
  const double magnitude = value < 0 ? -value : value;
  const auto [end, ec] = magnitude >= 1e-4 && magnitude < 1e16
                           ? std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::fixed)
                           : std::to_chars(buffer, buffer + sizeof(buffer), value);
  (void)ec; // 64 characters always suffice for these forms
  const std::string_view text(buffer, static_cast<std::size_t>(end - buffer));
  out.append(text);
  if (text.find_first_of(".eni") == std::string_view::npos)
    out.append(".0");
}

void append_int(std::string& out, std::int64_t value) {
  char buffer[24];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  (void)ec; // 24 characters always suffice for an int64
  out.append(buffer, static_cast<std::size_t>(end - buffer));
}

namespace {

constexpr std::string_view hex_digits = "0123456789abcdef";

void append_u_escape(std::string& out, std::uint32_t unit) {
  out.append("\\u");
  for (int shift = 12; shift >= 0; shift -= 4)
    out.push_back(hex_digits[(unit >> shift) & 0xF]);
}

// Decodes the UTF-8 sequence at text[i]; advances i past it. Invalid input yields U+FFFD and
// consumes one byte.
std::uint32_t decode_utf8(std::string_view text, std::size_t& i) {
  const auto byte = [&](std::size_t at) { return static_cast<std::uint8_t>(text[at]); };
  const std::uint8_t lead = byte(i);
  std::size_t length = 0;
  std::uint32_t cp = 0;
  if (lead < 0x80) {
    ++i;
    return lead;
  }
  if ((lead & 0xE0) == 0xC0) {
    length = 2;
    cp = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    cp = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    cp = lead & 0x07;
  } else {
    ++i;
    return 0xFFFD;
  }
  if (i + length > text.size()) {
    ++i;
    return 0xFFFD;
  }
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  constexpr std::array<std::uint32_t, 5> min_for_length = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_for_length[length] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++i;
    return 0xFFFD;
  }
  i += length;
  return cp;
}

} // namespace

void append_json_string(std::string& out, std::string_view text, bool ascii_only) {
  out.push_back('"');
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t start = i;
    const std::uint32_t cp = decode_utf8(text, i);
    switch (cp) {
    case '"':
      out.append("\\\"");
      continue;
    case '\\':
      out.append("\\\\");
      continue;
    case '\n':
      out.append("\\n");
      continue;
    case '\r':
      out.append("\\r");
      continue;
    case '\t':
      out.append("\\t");
      continue;
    case '\b':
      out.append("\\b");
      continue;
    case '\f':
      out.append("\\f");
      continue;
    default:
      break;
    }
    if (cp < 0x20 || (ascii_only && cp == 0x7F)) {
      append_u_escape(out, cp);
    } else if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (!ascii_only) {
      if (cp == 0xFFFD && text.substr(start, i - start) != "\xEF\xBF\xBD")
        out.append("\xEF\xBF\xBD"); // replace invalid input
      else
        out.append(text.substr(start, i - start));
    } else if (cp < 0x10000) {
      append_u_escape(out, cp);
    } else {
      const std::uint32_t v = cp - 0x10000;
      append_u_escape(out, 0xD800 + (v >> 10));
      append_u_escape(out, 0xDC00 + (v & 0x3FF));
    }
  }
  out.push_back('"');
}

void append_utc_datetime(std::string& out, std::int64_t epoch_ms) {
  // Days to civil date: Howard Hinnant's algorithm (proleptic Gregorian, any epoch_ms).
  std::int64_t days = epoch_ms / 86'400'000;
  std::int64_t ms_of_day = epoch_ms % 86'400'000;
  if (ms_of_day < 0) {
    ms_of_day += 86'400'000;
    --days;
  }
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const auto padded = [&](std::int64_t value, int width) {
    char buffer[24];
    int n = 0;
    for (std::int64_t v = value; n < width || v > 0; v /= 10)
      buffer[n++] = static_cast<char>('0' + v % 10);
    while (n > 0)
      out.push_back(buffer[--n]);
  };
  padded(year, 4);
  out.push_back('-');
  padded(month, 2);
  out.push_back('-');
  padded(day, 2);
  out.push_back(' ');
  padded(ms_of_day / 3'600'000, 2);
  out.push_back(':');
  padded(ms_of_day / 60'000 % 60, 2);
  out.push_back(':');
  padded(ms_of_day / 1000 % 60, 2);
  out.push_back('.');
  padded(ms_of_day % 1000 * 1000, 6);
}

void append_epoch_seconds(std::string& out, std::int64_t epoch_ms) {
  append_double(out, static_cast<double>(epoch_ms) / 1000.0);
}

void append_uuid4(std::string& out, random_engine& rng) {
  std::uint64_t high = rng();
  std::uint64_t low = rng();
  high = (high & ~0xF000ULL) | 0x4000ULL;               // version 4
  low = (low & ~(0xC000ULL << 48)) | (0x8000ULL << 48); // variant 10xx
  for (int nibble = 0; nibble < 32; ++nibble) {
    if (nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20)
      out.push_back('-');
    const std::uint64_t word = nibble < 16 ? high : low;
    out.push_back(hex_digits[(word >> (60 - 4 * (nibble % 16))) & 0xF]);
  }
}

} // namespace sluice::gen
