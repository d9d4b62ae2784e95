#include <sluice/connectors/postgres/postgres_lookup.hpp>

#include "connectors/redact.hpp"
#include <sluice/topology/serdes.hpp>

#include <libpq-fe.h>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <unordered_set>

namespace sluice {

namespace {

// Type OIDs from pg_type.h (stable across PostgreSQL versions).
constexpr pqxx::oid bool_oid = 16, int8_oid = 20, int2_oid = 21, int4_oid = 23, oid_oid = 26, json_oid = 114,
                    float4_oid = 700, float8_oid = 701, numeric_oid = 1700, jsonb_oid = 3802;

constexpr const char* statement_name = "sluice_lookup";

// Standard SQL identifier quoting: "name" with embedded quotes doubled; dots split schema.table.
std::string quote_identifier_path(const std::string& path) {
  std::string out;
  std::size_t pos = 0;
  while (true) {
    auto dot = path.find('.', pos);
    auto part = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    out.push_back('"');
    for (char c : part) {
      if (c == '"')
        out.push_back('"');
      out.push_back(c);
    }
    out.push_back('"');
    if (dot == std::string::npos)
      break;
    out.push_back('.');
    pos = dot + 1;
  }
  return out;
}

std::string quote_identifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"')
      out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

boost::json::value to_json(const pqxx::field& f) {
  if (f.is_null())
    return nullptr;
  switch (f.type()) {
  case bool_oid:
    return f.as<bool>();
  case int2_oid:
  case int4_oid:
  case int8_oid:
    return f.as<std::int64_t>();
  case oid_oid:
    return f.as<std::uint64_t>();
  case float4_oid:
  case float8_oid:
    return f.as<double>();
  case numeric_oid: {
    // numeric is arbitrary precision; JSON consumers get a double (NaN stays a string).
    const char* text = f.c_str();
    char* end = nullptr;
    double d = std::strtod(text, &end);
    if (end != text && *end == '\0')
      return d;
    return boost::json::string(text);
  }
  case json_oid:
  case jsonb_oid:
    try {
      return serdes::parse_json(f.c_str());
    } catch (const std::invalid_argument&) {
      return boost::json::string(f.c_str());
    }
  default:
    return boost::json::string(f.c_str());
  }
}

// SQLSTATEs for which re-running the same statement on a fresh connection can succeed.
bool transient_sqlstate(const std::string& state) {
  return state.starts_with("08")     // connection exception
         || state.starts_with("57P") // admin/crash shutdown, cannot connect now
         || state == "57014"         // query_canceled (statement_timeout)
         || state.starts_with("53")  // insufficient resources (too many connections…)
         || state.starts_with("40"); // serialization failure, deadlock
}

// libpq messages span lines ("...failed: Connection refused\n\tIs the server running..."):
// one log line per event keeps logs greppable.
std::string one_line(const std::string& text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == '\n' || c == '\t' || c == '\r' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space)
      out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

struct parsed_conninfo {
  std::string host, port, dbname, user, password;
};

// Uses libpq's own parser so URIs, quoting and PG* environment variables behave as in psql.
std::optional<parsed_conninfo> parse_conninfo(const std::string& conninfo, std::string& error) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (opts == nullptr) {
    error = err ? err : "out of memory";
    if (err)
      PQfreemem(err);
    return std::nullopt;
  }
  parsed_conninfo out;
  for (auto* o = opts; o->keyword != nullptr; ++o) {
    std::string key = o->keyword;
    std::string value = o->val ? o->val : "";
    if (value.empty() && o->envvar != nullptr)
      if (const char* env = std::getenv(o->envvar))
        value = env;
    if (key == "host" || (key == "hostaddr" && out.host.empty()))
      out.host = value;
    else if (key == "port")
      out.port = value;
    else if (key == "dbname")
      out.dbname = value;
    else if (key == "user")
      out.user = value;
    else if (key == "password")
      out.password = value;
  }
  PQconninfoFree(opts);
  return out;
}

} // namespace

struct postgres_lookup::connection_holder {
  explicit connection_holder(const std::string& conninfo) : conn(conninfo) {}
  pqxx::connection conn;
};

std::string to_pg_array_literal(const std::vector<std::string>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0)
      out.push_back(',');
    out.push_back('"');
    for (char c : values[i]) {
      if (c == '"' || c == '\\')
        out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

std::optional<std::string> postgres_lookup::validate(const postgres_lookup_options& options) {
  if (options.key_column.empty())
    return "key_column is required";
  if (options.query.empty() && options.table.empty())
    return "either table or query is required";
  if (!options.query.empty() && options.query.find("$1") == std::string::npos)
    return "query must take the key array as parameter $1";
  if (options.retry_backoff_min.count() <= 0 || options.retry_backoff_max < options.retry_backoff_min)
    return "retry backoff must satisfy 0 < retry_backoff_min <= retry_backoff_max";
  std::string error;
  if (!parse_conninfo(options.conninfo, error))
    return "invalid conninfo: " + error;
  return std::nullopt;
}

postgres_lookup::postgres_lookup(postgres_lookup_options options)
    : options_(std::move(options)), log_(options_.logger ? options_.logger : spdlog::default_logger()) {
  if (!options_.clock)
    options_.clock = [] { return std::chrono::steady_clock::now(); };
  std::string error;
  if (auto parsed = parse_conninfo(options_.conninfo, error))
    password_ = parsed->password;
  invalid_ = validate(options_);
  if (invalid_) {
    *invalid_ = scrub_secret(*invalid_, password_);
    return;
  }
  if (!options_.query.empty()) {
    sql_ = options_.query;
  } else {
    std::string cols;
    if (options_.columns.empty()) {
      cols = "*";
    } else {
      auto selected = options_.columns;
      if (std::find(selected.begin(), selected.end(), options_.key_column) == selected.end())
        selected.insert(selected.begin(), options_.key_column);
      for (const auto& c : selected)
        cols += (cols.empty() ? "" : ", ") + quote_identifier(c);
    }
    sql_ = "SELECT " + cols + " FROM " + quote_identifier_path(options_.table) + " WHERE " +
           quote_identifier(options_.key_column) + " = ANY($1)";
  }
}

postgres_lookup::~postgres_lookup() { disconnect(); }

void postgres_lookup::request_stop() noexcept {
  {
    std::lock_guard<std::mutex> guard{stop_mutex_};
    stop_ = true;
  }
  stop_cv_.notify_all();
}

bool postgres_lookup::stop_requested() const noexcept { return stop_.load(); }

postgres_lookup_metrics postgres_lookup::metrics() const noexcept {
  return {hits_.load(), misses_.load(), queries_.load(), retries_.load(), connects_.load()};
}

void postgres_lookup::invalidate_cache() {
  std::lock_guard<std::mutex> guard{call_mutex_};
  lru_.clear();
  index_.clear();
}

std::string postgres_lookup::target_description() const {
  std::string error;
  auto p = parse_conninfo(options_.conninfo, error);
  if (!p)
    return "<invalid conninfo>";
  auto or_default = [](const std::string& v, const char* d) { return v.empty() ? d : v; };
  return "host=" + or_default(p->host, "<default socket>") + " port=" + or_default(p->port, "5432") +
         " dbname=" + or_default(p->dbname, "<user>") + " user=" + or_default(p->user, "<os user>");
}

void postgres_lookup::disconnect() noexcept {
  try {
    conn_.reset();
  } catch (...) {
    conn_.release(); // pqxx destructors should not throw; never propagate from here
  }
}

bool postgres_lookup::wait_backoff(std::chrono::milliseconds delay) {
  std::unique_lock<std::mutex> lock{stop_mutex_};
  return !stop_cv_.wait_for(lock, delay, [this] { return stop_.load(); });
}

std::optional<error> postgres_lookup::ensure_connected(std::string& failure) {
  if (conn_ && conn_->conn.is_open())
    return std::nullopt;
  disconnect();
  try {
    auto conn = std::make_unique<connection_holder>(options_.conninfo);
    conn->conn.prepare(statement_name, sql_);
    if (options_.query_timeout.count() > 0) {
      pqxx::nontransaction tx{conn->conn};
      tx.exec("SET statement_timeout = " + std::to_string(options_.query_timeout.count()));
    }
    conn_ = std::move(conn);
    connects_++;
    return std::nullopt;
  } catch (const std::exception& e) {
    failure = scrub_secret(e.what(), password_);
    failure = one_line(failure);
    if (failure.find("authentication failed") != std::string::npos ||
        failure.find("no password supplied") != std::string::npos)
      return error{errc::invalid_options,
                   "PostgreSQL rejected the credentials (" + target_description() + "): " + failure};
    return std::nullopt; // transient; caller retries
  }
}

void postgres_lookup::cache_put(const std::string& key, std::optional<lookup_row> row,
                                std::chrono::steady_clock::time_point now) {
  if (options_.cache_max_rows == 0 || options_.cache_ttl.count() <= 0)
    return;
  if (auto it = index_.find(key); it != index_.end()) {
    lru_.erase(it->second);
    index_.erase(it);
  }
  lru_.push_front(cache_entry{key, std::move(row), now + options_.cache_ttl});
  index_[key] = lru_.begin();
  while (lru_.size() > options_.cache_max_rows) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

expected<lookup_rows> postgres_lookup::lookup(const std::vector<std::string>& keys) {
  if (invalid_)
    return error{errc::invalid_options, "postgres lookup: " + *invalid_};
  std::lock_guard<std::mutex> guard{call_mutex_};
  lookup_rows out;
  std::vector<std::string> missing;
  auto now = options_.clock();
  {
    std::unordered_set<std::string> seen;
    for (const auto& key : keys) {
      if (!seen.insert(key).second)
        continue;
      auto it = index_.find(key);
      if (it != index_.end() && it->second->expires > now) {
        lru_.splice(lru_.begin(), lru_, it->second);
        out.emplace(key, it->second->row);
        hits_++;
        continue;
      }
      if (it != index_.end()) { // expired
        lru_.erase(it->second);
        index_.erase(it);
      }
      missing.push_back(key);
      misses_++;
    }
  }
  if (missing.empty())
    return out;
  const auto array = to_pg_array_literal(missing);
  std::size_t attempt = 0;
  auto backoff = options_.retry_backoff_min;
  std::string last_failure;
  while (true) {
    if (stop_)
      return error{errc::cancelled, "postgres lookup cancelled (stop requested)" +
                                      (last_failure.empty() ? "" : "; last error: " + last_failure)};
    ++attempt;
    std::string failure;
    if (auto fatal = ensure_connected(failure))
      return *fatal;
    if (conn_) {
      try {
        pqxx::nontransaction tx{conn_->conn};
        auto result = tx.exec_prepared(statement_name, array);
        auto key_col = result.column_number(options_.key_column);
        lookup_rows found;
        for (const auto& row : result) {
          auto key = row[key_col].c_str();
          if (found.contains(key))
            continue; // non-unique key column: first row wins
          lookup_row obj;
          for (const auto& f : row)
            obj[f.name()] = to_json(f);
          found.emplace(key, std::move(obj));
        }
        queries_++;
        if (attempt > 1)
          log_->info("postgres lookup: recovered, query succeeded on {} after {} failed attempt(s)",
                     target_description(), attempt - 1);
        now = options_.clock();
        for (const auto& key : missing) {
          std::optional<lookup_row> row;
          if (auto it = found.find(key); it != found.end())
            row = std::move(it->second);
          cache_put(key, row, now);
          out.emplace(key, std::move(row));
        }
        return out;
      } catch (const pqxx::broken_connection& e) {
        failure = std::string("connection lost: ") + e.what();
      } catch (const pqxx::sql_error& e) {
        if (!transient_sqlstate(e.sqlstate()) && conn_->conn.is_open())
          return error{errc::query_failed, "postgres lookup query failed (SQLSTATE " + e.sqlstate() + ") on " +
                                             target_description() + ": " + scrub_secret(e.what(), password_)};
        failure = "SQLSTATE " + e.sqlstate() + ": " + e.what();
      } catch (const pqxx::in_doubt_error& e) {
        failure = std::string("connection lost mid-statement: ") + e.what();
      } catch (const std::exception& e) {
        if (conn_ && conn_->conn.is_open())
          return error{errc::query_failed,
                       "postgres lookup failed on " + target_description() + ": " + scrub_secret(e.what(), password_)};
        failure = std::string("connection lost: ") + e.what();
      }
      failure = scrub_secret(failure, password_);
      failure = one_line(failure);
      disconnect();
    }
    last_failure = failure;
    retries_++;
    if (options_.max_attempts > 0 && attempt >= options_.max_attempts) {
      log_->error("postgres lookup: giving up after {} attempts on {}: {}", attempt, target_description(), failure);
      return error{errc::attempts_exhausted, "postgres lookup failed after " + std::to_string(attempt) +
                                               " attempts on " + target_description() + ": " + failure};
    }
    log_->warn("postgres lookup: PostgreSQL unavailable ({}): {}; retrying the same lookup of {} "
               "key(s) in {} ms (attempt {})",
               target_description(), failure, missing.size(), backoff.count(), attempt);
    if (!wait_backoff(backoff))
      continue; // loop head reports cancellation
    backoff = std::min(options_.retry_backoff_max, backoff * 2);
  }
}

} // namespace sluice
