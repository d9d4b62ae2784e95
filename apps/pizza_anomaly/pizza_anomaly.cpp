#include "pizza_anomaly.hpp"

#include <sluice/topology/processors.hpp>

#include <array>
#include <utility>
#include <vector>

namespace sluice::apps {

namespace json = boost::json;

namespace {

// Adds the Kafka record timestamp to each order as "orderTimestamp" (Flink's
// `orderTimestamp TIMESTAMP(3) METADATA FROM 'timestamp'`): map_values sees values only, so this
// small operator goes through the DSL's `process` extension point.
class record_time_processor final : public processor {
public:
  void process(const batch_ptr& in, processor_context& ctx) override {
    auto& b = detail::records_of<json::value, json::value>(in);
    auto out = make_batch_like<json::value, json::value>(b, b.records.size());
    for_each_record(b, ctx, "order-timestamp", [&](const record<json::value, json::value>& r) {
      json::value v = r.value;
      v.as_object()["orderTimestamp"] = r.meta.timestamp; // throws (dead letter) for a non-object
      out->records.push_back({r.key, std::move(v), r.meta});
    });
    if (!out->records.empty())
      ctx.forward(std::move(out));
  }
};

// cross join UNNEST(pizzas) b cross join UNNEST(b.additionalToppings) as c(topping):
// {id, name, topping, orderTimestamp} per topping of every pizza of the order.
std::vector<json::value> unnest_toppings(const json::value& order) {
  const auto& o = order.as_object();
  std::vector<json::value> rows;
  for (const auto& pizza : o.at("pizzas").as_array())
    for (const auto& topping : pizza.at("additionalToppings").as_array())
      rows.push_back(json::object{{"id", o.at("id")},
                                  {"name", o.at("name")},
                                  {"topping", topping.as_string()},
                                  {"orderTimestamp", o.at("orderTimestamp")}});
  return rows;
}

// ex-2 for one order: count(*) and LISTAGG(c.topping) (Flink's default separator ',') of its
// prohibited toppings, keyed by the upsert key {"id"}; nothing unless there are more than `min`.
std::vector<std::pair<json::value, json::value>> bad_order(const json::value& order, int64_t min) {
  const auto& o = order.as_object();
  int64_t bad = 0;
  std::string list;
  for (const auto& pizza : o.at("pizzas").as_array())
    for (const auto& topping : pizza.at("additionalToppings").as_array()) {
      const auto& t = topping.as_string();
      if (!is_prohibited_topping(t))
        continue;
      if (bad++ > 0)
        list.push_back(',');
      list.append(t.data(), t.size());
    }
  if (bad <= min)
    return {};
  return {{json::object{{"id", o.at("id")}}, json::object{{"id", o.at("id")},
                                                          {"name", o.at("name")},
                                                          {"nr_bad_items", bad},
                                                          {"toppings", list},
                                                          {"orderTimestamp", o.at("orderTimestamp")}}}};
}

int64_t nr_orders(const json::value& row) { return row.at("nr_orders").to_number<int64_t>(); }

// MEASURES START_ROW.window_time AS trend_start, LISTAGG(CAST(nr_orders AS STRING)) AS trend_detail.
json::value trend_measures(const match_view& m) {
  const auto& start = m.first("START_ROW");
  std::string detail;
  for (const auto& row : m.all()) {
    if (!detail.empty())
      detail.push_back(',');
    detail += std::to_string(nr_orders(row));
  }
  return json::object{{"topping", start.at("topping")},
                      {"trend_start", start.at("window_end").to_number<int64_t>() - 1},
                      {"trend_detail", detail}};
}

} // namespace

bool is_prohibited_topping(std::string_view topping) {
  static constexpr std::array<std::string_view, 3> prohibited = {"pineapple", "strawberry", "banana"};
  const auto space = topping.find(' ');
  const auto name = space == std::string_view::npos ? topping : topping.substr(space + 1);
  for (auto p : prohibited)
    if (name == p)
      return true;
  return false;
}

pattern_spec make_trend_pattern(trend_pattern pattern) {
  if (pattern == trend_pattern::readme)
    return pattern_spec{
      .steps = {{"START_ROW"},
                // NR_UP.nr_orders > START_ROW.nr_orders
                {"NR_UP", quantifier::one(),
                 [](const json::value& row, const match_view& m) {
                   return nr_orders(row) > nr_orders(m.last("START_ROW"));
                 }},
                // (NR_UP.nr_orders - NR_DOWN.nr_orders) * 100.0 / NR_UP.nr_orders > 30
                {"NR_DOWN", quantifier::one(),
                 [](const json::value& row, const match_view& m) {
                   const double up = static_cast<double>(nr_orders(m.last("NR_UP")));
                   return (up - static_cast<double>(nr_orders(row))) * 100.0 / up > 30;
                 }}},
      .measures = trend_measures,
    };
  // Each NR_UP above the row before it (START_ROW or the previous NR_UP), each NR_DOWN below it.
  auto rising = [](const json::value& row, const match_view& m) { return nr_orders(row) > nr_orders(*m.previous()); };
  auto falling = [](const json::value& row, const match_view& m) { return nr_orders(row) < nr_orders(*m.previous()); };
  return pattern_spec{
    .steps = {{"START_ROW"},
              {"NR_UP", quantifier::one_or_more(), rising},
              {"NR_DOWN", quantifier::exactly(2), falling}},
    .measures = trend_measures,
  };
}

pizza_anomaly_alerts build_pizza_anomaly(topology_builder& builder, const pizza_anomaly_options& options) {
  const auto& topics = options.topics;
  // Event time: the Kafka record timestamp (the source's default), also copied into the orders.
  auto orders =
    builder.stream<serdes::json, serdes::json>(topics.orders)
      .process<json::value, json::value>([] { return std::make_unique<record_time_processor>(); }, "order-timestamp");
  auto toppings = orders.flat_map_values(unnest_toppings, "unnest-toppings");
  auto prohibited = toppings.filter(
    [](const json::value& row) { return is_prohibited_topping(row.at("topping").as_string()); }, "prohibited-toppings");

  // ex-1: one row per prohibited topping.
  prohibited.to(topics.filtered, "filter-sink");

  // ex-2: orders with more than 3 prohibited toppings (every row of an order comes from one
  // record, so the per-order aggregation needs no state).
  auto bad_orders = orders.flat_map(
    [min = options.min_bad_items](const json::value&, const json::value& order) { return bad_order(order, min); },
    "bad-orders");
  bad_orders.to(topics.aggregated, "agg-sink");

  // Windowed counts per prohibited topping, one final row per closed window:
  // {"topping", "window_start", "window_end", "nr_orders"}, keyed by topping.
  auto counts =
    prohibited
      .group_by([](const json::value&, const json::value& row) { return std::string(row.at("topping").as_string()); },
                "by-topping")
      .windowed_by(tumbling(options.window).grace(options.grace).emit_final())
      .count("toppings-5s")
      .to_rows("window-rows")
      .map_values(
        [](const json::value& r) {
          return json::value{{"window_start", r.at("window_start")},
                             {"window_end", r.at("window_end")},
                             {"topping", r.at("key")},
                             {"nr_orders", r.at("value")}};
        },
        "window-counts");

  // ex-3: windows with more than 10 rows, under the upsert key {topping, window_start, window_end}.
  counts.filter([min = options.min_window_orders](const json::value& r) { return nr_orders(r) > min; }, "busy-windows")
    .map(
      [](const std::string&, const json::value& r) {
        return std::pair{json::value{{"topping", r.at("topping")},
                                     {"window_start", r.at("window_start")},
                                     {"window_end", r.at("window_end")}},
                         r};
      },
      "windows-key")
    .to(topics.windows, "windows-sink");

  // ex-4: trends over every windowed count of a topping (the tutorial's trend query has no
  // HAVING), under the upsert key {topping, trend_start}.
  auto trends =
    match_recognize(counts, make_trend_pattern(options.pattern), "trends")
      .map(
        [](const std::string&, const json::value& t) {
          return std::pair{json::value{{"topping", t.at("topping")}, {"trend_start", t.at("trend_start")}}, t};
        },
        "trends-key");
  trends.to(topics.trends, "trends-sink");
  return {bad_orders, trends};
}

} // namespace sluice::apps
