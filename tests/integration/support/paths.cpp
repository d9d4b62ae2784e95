#include "paths.hpp"

#include <unistd.h>

#include <stdexcept>
#include <string>

namespace sluice::test {

std::filesystem::path build_directory() { return SLUICE_BUILD_DIR; }

std::filesystem::path built_binary(std::string_view name) {
  std::filesystem::path path;
  if (name == "sluice-broker")
    path = SLUICE_BROKER_PATH;
  else if (name == "sluice-gen")
    path = SLUICE_GEN_PATH;
  else {
    namespace fs = std::filesystem;
    for (auto it = fs::recursive_directory_iterator(build_directory(), fs::directory_options::skip_permission_denied);
         it != fs::recursive_directory_iterator(); ++it) {
      if (it->is_directory() && it->path().filename() == "CMakeFiles")
        it.disable_recursion_pending();
      else if (it->is_regular_file() && it->path().filename() == name && access(it->path().c_str(), X_OK) == 0) {
        path = it->path();
        break;
      }
    }
  }
  if (path.empty() || !std::filesystem::exists(path))
    throw std::runtime_error("built binary not found: " + std::string(name) + " (build it first)");
  return path;
}

} // namespace sluice::test
