// How a store's bytes read as JSON, for interactive queries (/stores): the DSL, which knows a
// store's key serde and how its values are encoded, makes one per store.
#pragma once

#include <boost/json.hpp>

#include <concepts>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

namespace sluice {

/// A store's keys from the text a query names them by, and its keys and values as JSON.
struct store_view {
  /// The stored key bytes of a key as a query writes it (a string as is, a JSON key as JSON
  /// text, a number in decimal); throws std::invalid_argument if it cannot be one.
  std::function<std::string(std::string_view text)> key_from_text;
  std::function<boost::json::value(std::string_view bytes)> key_to_json;   ///< a stored key as JSON
  std::function<boost::json::value(std::string_view bytes)> value_to_json; ///< a stored value as JSON
};

namespace detail {

/// `v` as JSON: JSON values, strings, numbers and booleans as themselves; anything else as S
/// writes it (parsed, if that is JSON text).
template <class S, class T>
boost::json::value json_of(const T& v) {
  if constexpr (std::is_same_v<T, boost::json::value>) {
    return v;
  } else if constexpr (std::is_same_v<T, std::string>) {
    return boost::json::string{v};
  } else if constexpr (std::is_arithmetic_v<T>) {
    return boost::json::value(v);
  } else {
    S s;
    std::string text;
    s.serialize(v, text);
    boost::system::error_code ec;
    auto parsed = boost::json::parse(text, ec);
    return ec ? boost::json::value(boost::json::string{text}) : parsed;
  }
}

/// The key half of a store view for keys serialized with KS.
template <class KS>
void set_key_view(store_view& view) {
  using K = typename KS::value_type;
  view.key_from_text = [](std::string_view text) {
    KS ks;
    std::string out;
    if constexpr (std::is_same_v<K, std::string>) {
      ks.serialize(std::string{text}, out);
    } else if constexpr (std::is_same_v<K, boost::json::value>) {
      boost::system::error_code ec;
      auto v = boost::json::parse(text, ec);
      if (ec)
        throw std::invalid_argument("the store's keys are JSON; '" + std::string{text} + "' is not");
      ks.serialize(v, out);
    } else if constexpr (std::is_integral_v<K>) {
      size_t used = 0;
      const auto n = std::stoll(std::string{text}, &used);
      if (used != text.size())
        throw std::invalid_argument("the store's keys are integers; '" + std::string{text} + "' is not");
      ks.serialize(static_cast<K>(n), out);
    } else {
      out.assign(text);
    }
    return out;
  };
  view.key_to_json = [](std::string_view bytes) {
    KS ks;
    return json_of<KS>(static_cast<K>(ks.deserialize(bytes)));
  };
}

/// The view of a store keyed with KS whose values `P` encodes (an aggregation policy: decode,
/// result). Callable from several threads at once, as every view.
template <class KS, class P>
std::shared_ptr<const store_view> aggregate_store_view(const P& policy) {
  auto view = std::make_shared<store_view>();
  set_key_view<KS>(*view);
  view->value_to_json = [policy](std::string_view bytes) {
    P p = policy; // its own copy: views are shared by the tasks of every thread
    typename P::agg_type a{};
    p.decode(bytes, a);
    return json_of<typename P::result_serde>(p.result(a));
  };
  return view;
}

/// The view of a store keyed with KS holding values serialized with VS.
template <class KS, class VS>
std::shared_ptr<const store_view> serde_store_view() {
  auto view = std::make_shared<store_view>();
  set_key_view<KS>(*view);
  view->value_to_json = [](std::string_view bytes) {
    VS vs;
    return json_of<VS>(static_cast<typename VS::value_type>(vs.deserialize(bytes)));
  };
  return view;
}

} // namespace detail

} // namespace sluice
