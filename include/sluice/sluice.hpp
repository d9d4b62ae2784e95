// The one header an app includes: the DSL, the instance, configuration and its flags.
#pragma once

#include "actors/command_line.hpp"
#include "actors/kafka_streams.hpp"
#include "actors/streams_config.hpp"
#include "topology/stream.hpp"
#include "topology/topology_builder.hpp"
