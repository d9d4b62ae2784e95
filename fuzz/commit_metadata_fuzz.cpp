// Commit metadata ("sluice1\n<input state>\n<store>=<offset>..."), as a restarted task reads it
// from the group's committed offsets: decoding never fails badly, a decoded state encodes to
// metadata that decodes the same, and the input state in it (watermarks, then a space and the
// record positions of a repartition input) restores into the operator's clocks and origin
// filter only as something that saves and restores to itself.
#include "fuzz_check.hpp"

#include "actors/commit_metadata.hpp"
#include <sluice/topology/event_time.hpp>
#include <sluice/topology/record_origin.hpp>

using namespace sluice;
using sluice::fuzz::check;

namespace {

// The watermark state `text` restored into a fresh input (plain or repartition): if it restores,
// what it saves restores to a state that saves the same again.
void check_clocks(std::string_view text, bool announced) {
  input_clocks clocks;
  const auto i = clocks.add("topic", 0, announced);
  if (!clocks.restore(i, text))
    return;
  const auto saved = clocks.save(i);
  input_clocks again;
  const auto j = again.add("topic", 0, announced);
  check(again.restore(j, saved), "saved watermark state restores", saved);
  check(again.save(j) == saved && again.clock() == clocks.clock(), "restored watermark state is the same", text);
  // The restored state goes on working: announcements and observations apply.
  if (announced)
    clocks.announce(i, {0, 1, {5, false}});
  else
    clocks.observe(i, 5);
  check(clocks.clock_of(i).watermark >= 5, "a restored clock moves on", text);
}

// The record positions `text` restored into an origin filter: as above.
void check_origins(std::string_view text) {
  origin_filter filter;
  if (!filter.restore(text))
    return;
  const auto saved = filter.save();
  origin_filter again;
  check(again.restore(saved) && again.save() == saved, "saved record positions restore to themselves", saved);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto input = fuzz::text_of(data, size);
  const committed_metadata committed{{{"topic", 0}, std::string{input}}};
  const auto state = decode_metadata(committed);
  check(state.inputs.empty() == !state.changelogs.has_value(), "decoded: inputs and changelogs together", input);
  if (!state.changelogs)
    return 0;
  const auto& input_state = state.inputs.at({"topic", 0});
  check(input_state.find('\n') == std::string::npos, "the input state is one line", input);

  // Decoded, encoded, decoded: the same.
  const auto encoded = encode_metadata(input_state, *state.changelogs);
  check(decode_metadata({{{"topic", 0}, encoded}}) == state, "decode(encode(decode(x))) == decode(x)", encoded);

  // The input state as the operator actor splits it.
  const auto space = input_state.find(' ');
  const std::string_view clocks = std::string_view{input_state}.substr(0, space);
  check_clocks(clocks, false);
  check_clocks(clocks, true);
  if (space != std::string::npos)
    check_origins(std::string_view{input_state}.substr(space + 1));
  return 0;
}
