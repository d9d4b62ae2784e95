#pragma once
// Helpers shared by the state tests: temporary directories and iterator collection.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <sluice/state/key_value_store.hpp>

namespace sluice::test {

/// A fresh directory under the system temp dir, removed on destruction.
class temp_dir {
public:
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sluice-state-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

using kv_pairs = std::vector<std::pair<std::string, std::string>>;

/// Drains it into (key, value) pairs, failing the test on an iterator error.
inline kv_pairs collect(std::unique_ptr<kv_iterator> it) {
  kv_pairs out;
  for (; it->valid(); it->next())
    out.emplace_back(std::string{it->key()}, std::string{it->value()});
  EXPECT_FALSE(it->status().has_value());
  return out;
}

} // namespace sluice::test

#define ASSERT_OK(expr)                                                                                                \
  do {                                                                                                                 \
    auto&& r_ = (expr);                                                                                                \
    ASSERT_TRUE(r_.has_value()) << #expr << ": " << r_.error().message;                                                \
  } while (0)
