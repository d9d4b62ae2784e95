// The one header an app includes: the DSL, the instance and its configuration. The flags helper
// (config_flags, needs CLI11) is <sluice/command_line.hpp>, included on its own.
#pragma once

#include <sluice/kafka_streams.hpp>
#include <sluice/streams_config.hpp>
#include <sluice/topology/stream.hpp>
#include <sluice/topology/topology_builder.hpp>
