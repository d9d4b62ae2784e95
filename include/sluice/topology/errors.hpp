// How records that cannot be processed are handled, shared by the runtime and the test driver.
#pragma once

#include <stdexcept>
#include <string>

namespace sluice {

/// What happens to a record that fails to deserialize, to process or to be produced.
enum class exception_handler {
  log_and_continue, ///< log it and go on (bad input: written to the dead-letter topic; an output: skipped)
  log_and_fail,     ///< log it and stop the task with a `stream_error`
};

/// Parses "log_and_continue" / "log_and_fail"; throws std::invalid_argument otherwise.
exception_handler parse_exception_handler(const std::string& name);

/// A fatal processing error: the task stops (e.g. `log_and_fail` on a bad record).
class stream_error : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A record the producer could not deliver, under `default.production.exception.handler=log_and_fail`
/// (or an error no handler may skip): the task stops. Never a bad input record, so never dead-lettered.
class production_error : public stream_error {
  using stream_error::stream_error;
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
