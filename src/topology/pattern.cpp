#include <sluice/topology/pattern.hpp>

#include <sluice/topology/serdes.hpp>
#include <sluice/topology/topology.hpp>

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace sluice {

namespace {

// Index of step `name` in `names`; throws std::invalid_argument if absent.
std::size_t step_index(std::span<const std::string> names, std::string_view name) {
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name)
      return i;
  throw std::invalid_argument("pattern has no step named '" + std::string{name} + "'");
}

} // namespace

std::span<const boost::json::value> match_view::rows(std::string_view step) const {
  const auto i = step_index(names_, step);
  if (i >= visible_)
    return {};
  return rows_.subspan(ranges_[i].begin, ranges_[i].end - ranges_[i].begin);
}

const boost::json::value& match_view::first(std::string_view step) const {
  auto r = rows(step);
  if (r.empty())
    throw std::out_of_range("step '" + std::string{step} + "' matched no row yet");
  return r.front();
}

const boost::json::value& match_view::last(std::string_view step) const {
  auto r = rows(step);
  if (r.empty())
    throw std::out_of_range("step '" + std::string{step} + "' matched no row yet");
  return r.back();
}

std::span<const boost::json::value> match_view::all() const {
  // Steps match consecutive rows from the first one: the last visible step ends the match.
  return visible_ == 0 ? std::span<const boost::json::value>{} : rows_.first(ranges_[visible_ - 1].end);
}

const boost::json::value* match_view::previous() const {
  auto a = all();
  return a.empty() ? nullptr : &a.back();
}

void validate(const pattern_spec& spec) {
  if (spec.steps.empty())
    throw topology_error("match_recognize: the pattern has no steps");
  if (!spec.measures)
    throw topology_error("match_recognize: no measures function");
  if (spec.max_rows == 0)
    throw topology_error("match_recognize: max_rows must be at least 1");
  bool consumes = false;
  for (std::size_t i = 0; i < spec.steps.size(); ++i) {
    const auto& s = spec.steps[i];
    if (s.name.empty())
      throw topology_error("match_recognize: a step has no name");
    for (std::size_t j = 0; j < i; ++j)
      if (spec.steps[j].name == s.name)
        throw topology_error("match_recognize: step '" + s.name + "' is defined twice");
    const auto& q = s.times;
    const bool bad_max = q.max != quantifier::unbounded && (q.max < 1 || q.max < q.min);
    if (q.min < 0 || bad_max)
      throw topology_error("match_recognize: step '" + s.name + "' has an invalid quantifier");
    consumes = consumes || q.min >= 1;
  }
  if (!consumes)
    throw topology_error("match_recognize: the pattern can match zero rows (every step is optional)");
}

double number_at(const boost::json::value& row, std::string_view field) {
  return row.as_object().at(field).to_number<double>();
}

void encode_partial_match(std::span<const boost::json::value> rows, std::string& out) {
  out += '[';
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i != 0)
      out += ',';
    serdes::write_json(rows[i], out);
  }
  out += ']';
}

void decode_partial_match(std::string_view bytes, std::vector<boost::json::value>& rows,
                          boost::json::storage_ptr storage) {
  auto v = serdes::parse_json(bytes, std::move(storage));
  if (!v.is_array())
    throw std::invalid_argument("partial match state is not a JSON array");
  for (auto& row : v.get_array())
    rows.push_back(std::move(row));
}

pattern_matcher::pattern_matcher(std::shared_ptr<const pattern_spec> spec)
    : spec_(std::move(spec)), ranges_(spec_->steps.size()) {
  names_.reserve(spec_->steps.size());
  for (const auto& s : spec_->steps)
    names_.push_back(s.name);
}

std::size_t pattern_matcher::run(std::span<const boost::json::value> rows, std::size_t start,
                                 const std::function<void(boost::json::value)>& emit) {
  while (start < rows.size()) {
    window_ = rows.subspan(start);
    ranges_[0].begin = 0;
    switch (search(0, 0, 0)) {
    case outcome::matched:
      emit(spec_->measures(match_view{window_.first(match_end_), names_, ranges_, names_.size()}));
      start += match_end_; // AFTER MATCH SKIP PAST LAST ROW
      break;
    case outcome::failed:
      ++start; // no match starts here: try from the next row
      break;
    case outcome::pending:
      if (window_.size() < spec_->max_rows)
        return start;
      ++start; // the attempt holds max_rows rows and is still open: abandon it
      break;
    }
  }
  return start;
}

// Depth-first over the choices "one more row for this step" / "end this step", in the
// quantifier's order of preference; the first choice that is not `failed` decides, so a
// preferred alternative still waiting for rows holds back a less preferred complete match.
pattern_matcher::outcome pattern_matcher::search(std::size_t step, int count, std::size_t pos) {
  const auto& steps = spec_->steps;
  if (step == steps.size()) {
    match_end_ = pos;
    return outcome::matched;
  }
  const auto& s = steps[step];
  const bool can_take = s.times.max == quantifier::unbounded || count < s.times.max;
  const bool can_leave = count >= s.times.min;
  for (int choice = 0; choice < 2; ++choice) {
    const bool take = (choice == 0) == s.times.greedy;
    auto result = outcome::failed;
    if (take && can_take) {
      if (pos == window_.size())
        return outcome::pending;
      ranges_[step].end = pos;
      if (!s.where || s.where(window_[pos], match_view{window_, names_, ranges_, step + 1}))
        result = search(step, count + 1, pos + 1);
    } else if (!take && can_leave) {
      ranges_[step].end = pos;
      if (step + 1 < steps.size())
        ranges_[step + 1].begin = pos;
      result = search(step + 1, 0, pos);
    }
    if (result != outcome::failed)
      return result;
  }
  return outcome::failed;
}

} // namespace sluice
