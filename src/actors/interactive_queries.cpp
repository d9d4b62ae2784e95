#include "actors/interactive_queries.hpp"

#include <sluice/topology/serdes.hpp>

#include <boost/json/value_from.hpp>

#include <cctype>
#include <map>
#include <set>
#include <stdexcept>

namespace sluice {

namespace {

boost::json::value key_json(const store_view* view, std::string_view bytes) {
  return view ? view->key_to_json(bytes) : boost::json::value(boost::json::string{bytes});
}

boost::json::value value_json(const store_view* view, std::string_view bytes) {
  return view ? view->value_to_json(bytes) : boost::json::value(boost::json::string{bytes});
}

/// `s` with %XX and '+' decoded.
std::string url_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string{s.substr(i + 1, 2)}, nullptr, 16));
      i += 2;
    } else {
      out += s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

/// The parameters of a query string ("a=1&b=2"), decoded.
std::map<std::string, std::string> parameters(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto part = query.substr(0, amp);
    const auto eq = part.find('=');
    out[url_decode(part.substr(0, eq))] = eq == std::string_view::npos ? "" : url_decode(part.substr(eq + 1));
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
  }
  return out;
}

int64_t number_parameter(const std::map<std::string, std::string>& p, const std::string& name, int64_t otherwise) {
  auto it = p.find(name);
  if (it == p.end())
    return otherwise;
  size_t used = 0;
  try {
    const auto n = std::stoll(it->second, &used);
    if (used == it->second.size())
      return n;
  } catch (const std::exception&) {
  }
  throw std::invalid_argument(name + " must be an integer, got '" + it->second + "'");
}

/// `v` as JSON text, numbers as sluice writes them (shortest round trip).
std::string text_of(const boost::json::value& v) {
  std::string out;
  serdes::write_json(v, out);
  return out;
}

http_response json_response(int status, const boost::json::value& v) {
  return {status, "application/json", text_of(v) + "\n"};
}

} // namespace

std::string query_key_value_store(key_value_store& store, const store_view* view, const store_query& q) {
  boost::json::array out;
  if (q.key) {
    std::string value;
    auto found = store.get_into(*q.key, value);
    if (!found)
      throw std::runtime_error("cannot read store " + store.name() + ": " + found.error().message);
    if (*found)
      out.push_back({{"key", key_json(view, *q.key)}, {"value", value_json(view, value)}});
    return text_of(out);
  }
  scan_bounds bounds;
  if (q.from)
    bounds.from = *q.from;
  if (q.to)
    bounds.to = std::string_view{*q.to};
  for (auto it = store.scan(bounds); it->valid() && out.size() < q.limit; it->next())
    out.push_back({{"key", key_json(view, it->key())}, {"value", value_json(view, it->value())}});
  return text_of(out);
}

std::string query_window_store(window_store& store, const store_view* view, const store_query& q) {
  boost::json::array out;
  auto it = q.key ? store.fetch(*q.key, q.time_from, q.time_to) : store.fetch_all(q.time_from, q.time_to);
  for (; it->valid() && out.size() < q.limit; it->next())
    out.push_back({{"key", key_json(view, it->key())},
                   {"window_start", it->window_start()},
                   {"value", value_json(view, it->value())}});
  return text_of(out);
}

namespace {

/// `target` asking the instance it goes to for its own tasks only.
std::string local_only(std::string_view target) {
  return std::string{target} + (target.find('?') == std::string_view::npos ? "?" : "&") + "local=1";
}

/// The /stores list: this instance's stores and their tasks, and every instance's entry.
http_response list_stores(const std::vector<std::shared_ptr<store_replica>>& stores,
                          const endpoint_directory* directory) {
  std::map<std::string, std::pair<bool, boost::json::array>> by_name;
  for (const auto& s : stores) {
    auto& [windowed, tasks] = by_name[s->store];
    windowed = s->windowed;
    tasks.emplace_back(s->task);
  }
  boost::json::array list;
  for (auto& [n, entry] : by_name)
    list.push_back({{"name", n}, {"windowed", entry.first}, {"tasks", std::move(entry.second)}});
  boost::json::object out{{"stores", std::move(list)}};
  if (directory) {
    out["instance"] = directory->server();
    boost::json::array instances;
    for (const auto& e : directory->entries()) {
      boost::json::object by_store;
      for (const auto& [store, tasks] : e.assignment.stores)
        by_store[store] = boost::json::value_from(tasks);
      instances.push_back({{"server", e.server},
                           {"tasks", boost::json::value_from(e.assignment.tasks)},
                           {"stores", std::move(by_store)}});
    }
    out["instances"] = std::move(instances);
  }
  return json_response(200, out);
}

} // namespace

http_response stores_endpoint(std::string_view target, const instance_metrics& registry,
                              const endpoint_directory* directory) {
  const auto question = target.find('?');
  const auto path = target.substr(0, question);
  const auto params = parameters(question == std::string_view::npos ? std::string_view{} : target.substr(question + 1));
  auto rest = path.substr(std::string_view{"/stores"}.size());
  if (!rest.empty())
    rest.remove_prefix(1); // the slash
  const auto slash = rest.find('/');
  const auto name = url_decode(rest.substr(0, slash));
  const std::optional<std::string> key =
    slash == std::string_view::npos ? std::nullopt : std::optional{url_decode(rest.substr(slash + 1))};

  const auto stores = registry.stores();
  if (name.empty())
    return list_stores(stores, directory);
  std::vector<std::shared_ptr<store_replica>> replicas;
  for (const auto& s : stores)
    if (s->store == name)
      replicas.push_back(s);
  const auto peers = directory && !params.count("local") ? directory->holders(name) : std::vector<std::string>{};
  if (replicas.empty() && peers.empty())
    return json_response(
      404, {{"store", name},
            {"error", "no task with that store runs on this instance" +
                        std::string{directory && !params.count("local") ? " or any other" : ""} + " (see /stores)"}});
  boost::json::object out{{"store", name}};
  if (key)
    out["key"] = *key;
  if (directory)
    out["instance"] = directory->server();
  boost::json::array results, tasks;
  size_t limit = 1000;
  try {
    limit = static_cast<size_t>(std::max<int64_t>(1, number_parameter(params, "limit", 1000)));
    if (!replicas.empty()) {
      // Every replica of a store is alike.
      const auto& view = replicas.front()->view;
      auto bytes = [&](const std::string& text) { return view ? view->key_from_text(text) : text; };
      store_query q;
      q.limit = limit;
      if (key)
        q.key = bytes(*key);
      if (replicas.front()->windowed) {
        q.time_from = number_parameter(params, "from", q.time_from);
        q.time_to = number_parameter(params, "to", q.time_to);
      } else {
        if (auto it = params.find("from"); it != params.end())
          q.from = bytes(it->second);
        if (auto it = params.find("to"); it != params.end())
          q.to = bytes(it->second);
      }
      for (const auto& r : replicas) {
        tasks.emplace_back(r->task);
        if (results.size() >= q.limit)
          break;
        auto answer = r->query(q);
        if (!answer)
          return json_response(503, {{"store", name}, {"error", "task " + r->task + " did not answer (moving?)"}});
        auto entries = serdes::parse_json(*answer); // correctly rounded: numbers come out as they went in
        for (auto& e : entries.as_array())
          if (results.size() < q.limit)
            results.push_back(std::move(e));
      }
    }
  } catch (const std::exception& e) {
    return json_response(400, {{"store", name}, {"error", e.what()}});
  }
  // What this instance does not hold, the others are asked for: a key until one has it, a range
  // from every one of them.
  boost::json::array unreachable;
  for (const auto& peer : peers) {
    if (key ? !results.empty() : results.size() >= limit)
      break;
    try {
      const auto answer = http_get(peer, local_only(target), std::chrono::seconds(5));
      if (answer.status == 404)
        continue;
      if (answer.status != 200) {
        unreachable.push_back({{"server", peer}, {"error", "answered " + std::to_string(answer.status)}});
        continue;
      }
      auto theirs = serdes::parse_json(answer.body);
      if (key)
        return json_response(200, theirs);
      for (auto& t : theirs.at("tasks").as_array())
        tasks.push_back(std::move(t));
      for (auto& e : theirs.at("results").as_array())
        if (results.size() < limit)
          results.push_back(std::move(e));
    } catch (const std::exception& e) {
      unreachable.push_back({{"server", peer}, {"error", e.what()}});
    }
  }
  const bool missing = key && results.empty();
  out["tasks"] = std::move(tasks);
  out["results"] = std::move(results);
  if (!unreachable.empty())
    out["unreachable"] = std::move(unreachable);
  if (missing)
    out["error"] = peers.empty() ? "not found in the tasks of this instance" : "not found in the tasks of any instance";
  // A key not found while an instance that may hold it did not answer is not known to be missing.
  return json_response(missing ? (out.contains("unreachable") ? 503 : 404) : 200, out);
}

} // namespace sluice
