#include <sluice/topology/event_time.hpp>

#include <algorithm>
#include <utility>
#include "topology/text_fields.hpp"

namespace sluice {

event_clock combine(std::span<const event_clock> inputs) {
  event_clock active{std::numeric_limits<int64_t>::max(), false};
  event_clock idle{no_watermark, true};
  bool any_active = false;
  for (const auto& c : inputs) {
    if (c.idle) {
      idle.watermark = std::max(idle.watermark, c.watermark);
    } else {
      any_active = true;
      active.watermark = std::min(active.watermark, c.watermark);
    }
  }
  return any_active ? active : idle;
}

namespace {

using detail::parse_int;
using detail::take;

void append_watermark(std::string& out, int64_t wm) {
  if (wm == no_watermark)
    out += '-';
  else
    out += std::to_string(wm);
}

std::optional<int64_t> parse_watermark(std::string_view text) {
  if (text == "-")
    return no_watermark;
  return parse_int(text);
}

} // namespace

std::string encode_announcement(const watermark_announcement& a) {
  std::string out = std::to_string(a.upstream) + '/' + std::to_string(a.upstreams) + '/';
  append_watermark(out, a.clock.watermark);
  out += a.clock.idle ? "/1" : "/0";
  if (a.lease_ms > 0)
    out += '/' + std::to_string(a.lease_ms);
  return out;
}

std::optional<watermark_announcement> decode_announcement(std::string_view text) {
  auto upstream = parse_int(take(text, '/'));
  auto upstreams = parse_int(take(text, '/'));
  auto wm = parse_watermark(take(text, '/'));
  const auto slash = text.find('/');
  auto idle = text.substr(0, slash);
  std::optional<int64_t> lease = slash == std::string_view::npos ? 0 : parse_int(text.substr(slash + 1));
  if (!upstream || !upstreams || !wm || (idle != "0" && idle != "1") || !lease || *lease < 0)
    return std::nullopt;
  // A bound on the writers keeps a corrupt header from sizing a huge table.
  if (*upstreams <= 0 || *upstreams > 100000 || *upstream < 0 || *upstream >= *upstreams)
    return std::nullopt;
  return watermark_announcement{static_cast<int32_t>(*upstream), static_cast<int32_t>(*upstreams),
                                event_clock{*wm, idle == "1"}, *lease};
}

size_t input_clocks::add(std::string topic, int32_t partition, bool announced) {
  input in;
  in.topic = std::move(topic);
  in.partition = partition;
  in.announced = announced;
  inputs_.push_back(std::move(in));
  return inputs_.size() - 1;
}

std::optional<size_t> input_clocks::find(std::string_view topic, int32_t partition) const {
  for (size_t i = 0; i < inputs_.size(); ++i)
    if (inputs_[i].partition == partition && inputs_[i].topic == topic)
      return i;
  return std::nullopt;
}

void input_clocks::observe(size_t i, int64_t event_time) {
  auto& in = inputs_[i];
  if (in.announced)
    return;
  in.own.watermark = std::max(in.own.watermark, event_time);
  in.own.idle = false;
}

void input_clocks::received(size_t i) {
  inputs_[i].is_caught_up = false;
  inputs_[i].own.idle = false;
}

void input_clocks::announce(size_t i, const watermark_announcement& a) {
  auto& in = inputs_[i];
  if (!in.announced)
    return;
  if (in.upstreams.size() != static_cast<size_t>(a.upstreams))
    in.upstreams.resize(static_cast<size_t>(a.upstreams));
  auto& u = in.upstreams[static_cast<size_t>(a.upstream)];
  u.clock.watermark = std::max(u.clock.watermark, a.clock.watermark);
  u.clock.idle = a.clock.idle;
  u.lease_ms = a.lease_ms;
  u.heard_at = std::max(u.heard_at, a.sent_at_ms);
  in.latest_heard = std::max(in.latest_heard, a.sent_at_ms);
}

void input_clocks::caught_up(size_t i, int64_t now_ms) {
  auto& in = inputs_[i];
  in.confirmed_at = now_ms;
  if (in.is_caught_up)
    return;
  in.is_caught_up = true;
  in.caught_up_since = now_ms;
}

bool input_clocks::detect_idle(int64_t now_ms, int64_t idle_timeout_ms) {
  if (idle_timeout_ms < 0)
    return false;
  const int64_t lapse = confirmations_lapse_after * confirmation_interval_ms(idle_timeout_ms);
  bool changed = false;
  for (auto& in : inputs_) {
    if (in.announced || !in.is_caught_up)
      continue;
    if (now_ms - in.confirmed_at > lapse) { // cut off from its brokers, maybe with records to come
      in.is_caught_up = false;
      changed |= std::exchange(in.own.idle, false);
    } else if (!in.own.idle && now_ms - in.caught_up_since >= idle_timeout_ms) {
      in.own.idle = true;
      changed = true;
    }
  }
  return changed;
}

event_clock input_clocks::clock_of(size_t i) const {
  const auto& in = inputs_[i];
  if (!in.announced)
    return in.own;
  if (in.upstreams.empty())
    return {}; // nobody heard yet: hold back
  std::vector<event_clock> judged;
  judged.reserve(in.upstreams.size());
  for (const auto& u : in.upstreams)
    judged.push_back(u.judged(in.latest_heard));
  return combine(judged);
}

event_clock input_clocks::clock() const {
  std::vector<event_clock> all;
  all.reserve(inputs_.size());
  for (size_t i = 0; i < inputs_.size(); ++i)
    all.push_back(clock_of(i));
  return combine(all);
}

// Plain input: "w<watermark>". Repartition input: "u<upstreams>[,<latest_heard>]:<upstream>;..."
// where an upstream is "<wm>,0", "<wm>,1" or, idle with a lease, "<wm>,1,<latest_heard - heard_at>,<lease_ms>".
std::string input_clocks::save(size_t i) const {
  const auto& in = inputs_[i];
  std::string out;
  if (!in.announced) {
    out = "w";
    append_watermark(out, in.own.watermark);
    return out;
  }
  out = "u" + std::to_string(in.upstreams.size());
  if (in.latest_heard > 0)
    out += ',' + std::to_string(in.latest_heard);
  out += ':';
  for (size_t u = 0; u < in.upstreams.size(); ++u) {
    if (u > 0)
      out += ';';
    const auto& up = in.upstreams[u];
    append_watermark(out, up.clock.watermark);
    out += up.clock.idle ? ",1" : ",0";
    if (up.clock.idle && up.lease_ms > 0) // its age, not its time: metadata is small
      out += ',' + std::to_string(in.latest_heard - up.heard_at) + ',' + std::to_string(up.lease_ms);
  }
  return out;
}

bool input_clocks::restore(size_t i, std::string_view text) {
  auto& in = inputs_[i];
  if (text.empty())
    return false;
  if (!in.announced) {
    if (text.front() != 'w')
      return false;
    auto wm = parse_watermark(text.substr(1));
    if (!wm)
      return false;
    in.own.watermark = *wm;
    return true;
  }
  if (text.front() != 'u')
    return false;
  text.remove_prefix(1);
  auto head = take(text, ':'); // "<upstreams>" or "<upstreams>,<latest_heard>"
  const auto comma = head.find(',');
  auto count = parse_int(head.substr(0, comma));
  std::optional<int64_t> latest = comma == std::string_view::npos ? 0 : parse_int(head.substr(comma + 1));
  if (!count || *count < 0 || *count > 100000 || !latest)
    return false;
  std::vector<upstream> ups;
  for (int64_t u = 0; u < *count; ++u) {
    auto entry = take(text, ';');
    auto wm = parse_watermark(take(entry, ','));
    const auto sep = entry.find(',');
    auto idle = entry.substr(0, sep);
    std::optional<int64_t> age = 0, lease = 0;
    if (sep != std::string_view::npos) { // "<age>,<lease_ms>"
      entry.remove_prefix(sep + 1);
      age = parse_int(take(entry, ','));
      lease = parse_int(entry);
    }
    if (!wm || (idle != "0" && idle != "1") || !age || *age < 0 || !lease || *lease < 0)
      return false;
    ups.push_back({{*wm, idle == "1"}, *latest - *age, *lease});
  }
  if (!text.empty())
    return false;
  in.upstreams = std::move(ups);
  in.latest_heard = *latest;
  return true;
}

} // namespace sluice
