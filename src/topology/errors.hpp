// How records that cannot be processed are handled, shared by the runtime and the test driver.
#pragma once

#include <stdexcept>
#include <string>

namespace sluice {

/// What happens to a record that fails to deserialize or to process.
enum class exception_handler {
  log_and_continue, ///< log it, write it to the dead-letter topic, go on (default)
  log_and_fail,     ///< log it and stop the task with a `stream_error`
};

/// Parses "log_and_continue" / "log_and_fail"; throws std::invalid_argument otherwise.
exception_handler parse_exception_handler(const std::string& name);

/// A fatal processing error: the task stops (e.g. `log_and_fail` on a bad record).
class stream_error : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The dead-letter topic of an application: "<application.id>-dlq".
inline std::string dead_letter_topic(const std::string& application_id) { return application_id + "-dlq"; }

/// Header names on dead-letter records.
namespace dlq_header {
inline constexpr const char* error = "error";                       ///< what went wrong
inline constexpr const char* node = "error.node";                   ///< the node that failed, if processing
inline constexpr const char* source_topic = "source.topic";         ///< where the record came from
inline constexpr const char* source_partition = "source.partition"; ///< decimal
inline constexpr const char* source_offset = "source.offset";       ///< decimal
} // namespace dlq_header

} // namespace sluice
