// `match_recognize`: row pattern matching per key, in the spirit of SQL's MATCH_RECOGNIZE
// (ONE ROW PER MATCH, AFTER MATCH SKIP PAST LAST ROW). Semantics and examples: docs/pattern.md.
//
//   PARTITION BY  the stream's key (re-key first if needed)
//   ORDER BY      arrival order per key
//   PATTERN       a sequence of named steps, each with a quantifier (1, +, *, ?, {n}, {n,m})
//   DEFINE        one predicate per step over the candidate row and the rows matched so far
//   MEASURES      one function from the matched rows to the output value
//
// The partial match of each key (the rows buffered since the current attempt started) lives in
// the node's key-value store, so it is changelogged, survives restarts and moves with the task.
#pragma once

#include <sluice/topology/errors.hpp>
#include <sluice/topology/processors.hpp>
#include <sluice/topology/stream.hpp>

#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice {

/// How many consecutive rows a step matches: between `min` and `max` (`unbounded` = no limit);
/// greedy quantifiers prefer more rows, reluctant ones fewer.
struct quantifier {
  /// `max` value meaning "no upper limit".
  static constexpr int unbounded = -1;

  int min = 1;        ///< fewest rows, >= 0
  int max = 1;        ///< most rows, >= max(min, 1), or `unbounded`
  bool greedy = true; ///< prefer more rows (regex `+`) rather than fewer (`+?`)

  /// Exactly one row (a bare step name).
  static constexpr quantifier one() { return {1, 1, true}; }
  /// One or more rows, greedy (`+`).
  static constexpr quantifier one_or_more() { return {1, unbounded, true}; }
  /// Zero or more rows, greedy (`*`).
  static constexpr quantifier zero_or_more() { return {0, unbounded, true}; }
  /// Zero or one row, greedy (`?`).
  static constexpr quantifier zero_or_one() { return {0, 1, true}; }
  /// Exactly `n` rows (`{n}`).
  static constexpr quantifier exactly(int n) { return {n, n, true}; }
  /// Between `lo` and `hi` rows, greedy (`{lo,hi}`).
  static constexpr quantifier between(int lo, int hi) { return {lo, hi, true}; }
  /// This quantifier preferring fewer rows (`+?`, `*?`, `??`).
  constexpr quantifier reluctant() const { return {min, max, false}; }
};

/// The rows of one (partial or complete) match, by step. Views into the operator's buffer:
/// valid only during the predicate or measures call that received it.
class match_view {
public:
  /// Row range [begin, end) of one step, relative to the first row of the match.
  struct span_of_step {
    std::size_t begin = 0;
    std::size_t end = 0;
  };

  /// A view over `rows` where step i matched rows[ranges[i].begin, ranges[i].end) for
  /// i < `visible`; later steps have matched nothing yet. Used by the operator.
  match_view(std::span<const boost::json::value> rows, std::span<const std::string> names,
             std::span<const span_of_step> ranges, std::size_t visible)
      : rows_(rows), names_(names), ranges_(ranges), visible_(visible) {}

  /// The rows step `step` matched, oldest first (empty if none yet); throws
  /// std::invalid_argument for a name not in the pattern.
  std::span<const boost::json::value> rows(std::string_view step) const;

  /// The first row step `step` matched; throws std::out_of_range if it matched none yet.
  const boost::json::value& first(std::string_view step) const;

  /// The last row step `step` matched; throws std::out_of_range if it matched none yet.
  const boost::json::value& last(std::string_view step) const;

  /// Every row matched so far, oldest first (in a predicate: not the candidate row).
  std::span<const boost::json::value> all() const;

  /// The row matched just before the candidate (SQL's PREV()), or nullptr at the first row.
  const boost::json::value* previous() const;

private:
  std::span<const boost::json::value> rows_;
  std::span<const std::string> names_;
  std::span<const span_of_step> ranges_;
  std::size_t visible_;
};

/// A step's condition (DEFINE): true if `row` may be the step's next row, given the rows
/// `matched` before it. Called from several tasks at once: must be pure.
using step_predicate = std::function<bool(const boost::json::value& row, const match_view& matched)>;

/// One named pattern variable: its quantifier and condition (empty = any row, as an
/// undefined variable in SQL).
struct pattern_step {
  std::string name;                     ///< unique in the pattern, e.g. "START_ROW"
  quantifier times = quantifier::one(); ///< how many rows
  step_predicate where{};               ///< condition; empty = always true
};

/// A complete pattern: steps in order, measures, and the per-key buffer bound.
struct pattern_spec {
  std::vector<pattern_step> steps{}; ///< PATTERN (s0 s1 ...); at least one step with min >= 1
  /// MEASURES: the output value of a complete match. Called from several tasks: must be pure.
  std::function<boost::json::value(const match_view& match)> measures{};
  /// Most rows buffered per key for one attempt; an attempt that would need more is abandoned
  /// and matching goes on from its second row.
  std::size_t max_rows = 1000;
};

/// Throws topology_error if `spec` cannot run (no steps, duplicate or empty names, bad
/// quantifiers, no measures, max_rows == 0, or a pattern that can match zero rows).
void validate(const pattern_spec& spec);

/// `row[field]` as a double; throws if absent or not a number. For predicates and measures.
double number_at(const boost::json::value& row, std::string_view field);

/// Appends the buffered rows as compact JSON (an array) to `out`: the store value of a key.
void encode_partial_match(std::span<const boost::json::value> rows, std::string& out);

/// Appends the rows of `bytes` (as `encode_partial_match` wrote them) to `rows`, allocated
/// from `storage` (numbers exact, as `serdes::parse_json` reads them); throws
/// std::invalid_argument if `bytes` is not a JSON array.
void decode_partial_match(std::string_view bytes, std::vector<boost::json::value>& rows,
                          boost::json::storage_ptr storage = {});

/// The matching engine for one spec, independent of keys and stores. Not thread-safe: one per
/// processor.
class pattern_matcher {
public:
  /// A matcher for `spec` (validated by the caller).
  explicit pattern_matcher(std::shared_ptr<const pattern_spec> spec);

  /// Matches over `rows` (one key's buffer, oldest first), from rows[start] on: calls
  /// `emit(measures value)` for each match, in order, skipping past its last row; drops the
  /// rows no match can start at. Returns the index of the first row still needed (the start
  /// of the pending attempt; rows.size() if none). Predicate and measures exceptions propagate.
  std::size_t run(std::span<const boost::json::value> rows, std::size_t start,
                  const std::function<void(boost::json::value)>& emit);

private:
  enum class outcome { matched, failed, pending };
  outcome search(std::size_t step, int count, std::size_t pos);

  std::shared_ptr<const pattern_spec> spec_;
  std::vector<std::string> names_;
  std::vector<match_view::span_of_step> ranges_;
  std::span<const boost::json::value> window_; // the rows of the attempt being searched
  std::size_t match_end_ = 0;
};

namespace detail {

/// The processor behind `match_recognize`: per record, loads the key's buffered rows from the
/// store, appends the row, runs the matcher, forwards matches, and writes the buffer back
/// (deleted when empty). Output timestamps are the triggering record's.
template <class K, serde KS>
class match_recognize_processor final : public processor {
public:
  match_recognize_processor(std::shared_ptr<const pattern_spec> spec, std::string name)
      : matcher_(spec), name_(std::move(name)), arena_(std::make_unique<unsigned char[]>(arena_size)) {}

  void process(const batch_ptr& in, processor_context& ctx) override {
    auto& b = records_of<K, boost::json::value>(in);
    auto& store = ctx.key_value_state();
    auto out = make_batch_like<K, boost::json::value>(b, 0);
    for (const auto& r : b.records) {
      try {
        step(r, store, *out);
      } catch (const stream_error&) {
        throw;
      } catch (const std::exception& e) {
        ctx.processing_failed(r.meta, name_, e);
      }
    }
    if (!out->records.empty())
      ctx.forward(std::move(out));
  }

private:
  static constexpr std::size_t arena_size = 64 * 1024;

  // One record: the store is written, and matches forwarded, only if every predicate and the
  // measures succeeded, so a failing record leaves the key's state as it was.
  void step(const record<K, boost::json::value>& r, key_value_store& store, record_batch<K, boost::json::value>& out) {
    boost::json::monotonic_resource arena(arena_.get(), arena_size);
    boost::json::storage_ptr sp(&arena);
    rows_.clear();
    keys_.serialize(r.key, key_buf_);
    auto had = store.get_into(key_buf_, value_buf_);
    if (!had)
      throw stream_error(name_ + ": store read failed: " + had.error().message);
    if (*had)
      decode_partial_match(value_buf_, rows_, sp);
    const bool was_empty = rows_.empty();
    rows_.emplace_back(r.value, sp);
    matches_.clear();
    const auto first = matcher_.run(rows_, 0, [&](boost::json::value v) {
      matches_.emplace_back(std::move(v), boost::json::storage_ptr{}); // out of the arena
    });
    const auto kept = std::span<const boost::json::value>(rows_).subspan(first);
    if (kept.empty()) {
      if (!was_empty)
        check(store.remove(key_buf_, r.meta.timestamp), "store delete failed");
    } else {
      value_buf_.clear();
      encode_partial_match(kept, value_buf_);
      check(store.put(key_buf_, value_buf_, r.meta.timestamp), "store write failed");
    }
    rows_.clear(); // before the arena goes
    for (auto& m : matches_)
      out.records.push_back({r.key, std::move(m), r.meta});
  }

  void check(expected<void> res, const char* what) {
    if (!res)
      throw stream_error(name_ + ": " + what + ": " + res.error().message);
  }

  pattern_matcher matcher_;
  std::string name_;
  std::unique_ptr<unsigned char[]> arena_;
  KS keys_;
  std::string key_buf_;
  std::string value_buf_;
  std::vector<boost::json::value> rows_;
  std::vector<boost::json::value> matches_;
};

} // namespace detail

/// Matches `spec` over each key's rows of `in`, in arrival order, and emits one row per match
/// (the measures value, with the key and timestamp of the record completing the match). The
/// node keeps each key's partial match in the changelogged store "<name>-store"; KS serializes
/// keys for it. Throws topology_error for an invalid spec.
template <class K, serde KS = typename default_serde<K>::type>
stream<K, boost::json::value> match_recognize(const stream<K, boost::json::value>& in, pattern_spec spec,
                                              std::string name = {}) {
  static_assert(std::is_same_v<typename KS::value_type, K>, "key serde does not match the key type");
  validate(spec);
  auto n = name.empty() ? in.builder().next_name("MATCHRECOGNIZE") : name;
  auto shared = std::make_shared<const pattern_spec>(std::move(spec));
  auto out = in.template process<K, boost::json::value>(
    [shared, n] { return std::make_unique<detail::match_recognize_processor<K, KS>>(shared, n); }, n);
  in.builder().node(out.node()).store = store_spec{n + "-store"};
  return out;
}

} // namespace sluice
