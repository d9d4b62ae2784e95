// Repartition records and their headers: a value that carries a record origin splits into the
// origin and the payload, which encode back to a value that decodes the same; a watermark
// announcement header decodes only within its bounds and encodes back to itself; both apply to
// a reader's state without harm.
#include "fuzz_check.hpp"

#include <sluice/topology/event_time.hpp>
#include <sluice/topology/record_origin.hpp>

using namespace sluice;
using sluice::fuzz::check;

namespace {

bool same(const record_origin& a, const record_origin& b) {
  return a.source == b.source && a.partition == b.partition && a.offset == b.offset && a.ordinal == b.ordinal;
}

void check_origin(std::string_view value) {
  const auto decoded = decode_origin(value);
  if (!decoded)
    return;
  const auto& [origin, payload] = *decoded;
  check(origin.source >= -1 && origin.partition >= 0 && origin.offset >= -1 && origin.ordinal >= 0,
        "a decoded origin is in range", value);
  check(payload.data() >= value.data() && payload.data() + payload.size() == value.data() + value.size(),
        "the payload is the rest of the value", value);
  std::string encoded;
  encode_origin(origin, payload, encoded);
  const auto again = decode_origin(encoded);
  check(again && same(again->first, origin) && again->second == payload, "decode(encode(decode(x))) == decode(x)",
        value);
  // A reader admits it once.
  origin_filter filter;
  const bool first = filter.admit(origin);
  check(first, "the first record of a source partition is admitted", value);
  check(filter.admit(origin) == (origin.source < 0 || origin.offset < 0), "a record written again is dropped", value);
  origin_filter restored;
  check(restored.restore(filter.save()) && restored.save() == filter.save(), "the filter state restores", value);
}

void check_announcement(std::string_view text) {
  const auto a = decode_announcement(text);
  if (!a)
    return;
  check(a->upstreams > 0 && a->upstreams <= 100000 && a->upstream >= 0 && a->upstream < a->upstreams,
        "a decoded announcement is within its bounds", text);
  const auto encoded = encode_announcement(*a);
  const auto again = decode_announcement(encoded);
  check(again && again->upstream == a->upstream && again->upstreams == a->upstreams && again->clock == a->clock,
        "decode(encode(decode(x))) == decode(x)", text);
  check(encode_announcement(*again) == encoded, "an encoded announcement is canonical", encoded);
  // A repartition input applies it.
  input_clocks clocks;
  const auto i = clocks.add("repartition", 0, true);
  clocks.announce(i, *a);
  const auto clock = clocks.clock_of(i);
  if (a->upstreams == 1)
    check(clock == a->clock, "one upstream: the input's clock is the announced one", text);
  input_clocks restored;
  const auto j = restored.add("repartition", 0, true);
  check(restored.restore(j, clocks.save(i)) && restored.clock_of(j) == clock, "the input's state restores", text);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto input = fuzz::text_of(data, size);
  check_origin(input);
  check_announcement(input);
  return 0;
}
