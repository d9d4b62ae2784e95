#pragma once
// Where the binaries under test are: CMake passes their paths as compile definitions.

#include <filesystem>
#include <string_view>

namespace sluice::test {

// The CMake build directory the tests were built in.
std::filesystem::path build_directory();

// Path of the built executable `name` (e.g. "sluice-broker", "sluice-gen"): known targets by their
// CMake $<TARGET_FILE>, any other by searching the build directory for an executable file of that
// name. Throws std::runtime_error if it does not exist.
std::filesystem::path built_binary(std::string_view name);

} // namespace sluice::test
