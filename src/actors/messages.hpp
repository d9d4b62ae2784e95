// The actor interfaces of the runtime: every message an actor handles, typed, one comment each.
// CAF 0.17 spelling stays inside src/actors.
#pragma once

#include "actors/errors.hpp"
#include "actors/interactive_queries.hpp"
#include <sluice/topology/processor.hpp>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace sluice {

struct task_stores;

/// A committable position: the next offset to read in one source partition, and what must
/// survive with it (input watermarks, store changelog positions; see task_actor.cpp).
struct source_offset {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string metadata;
};
using source_offsets = std::vector<source_offset>;

using batch_atom = caf::atom_constant<caf::atom("batch")>;
using marker_atom = caf::atom_constant<caf::atom("marker")>;
using epoch_acked_atom = caf::atom_constant<caf::atom("ep_acked")>;
using delivery_failed_atom = caf::atom_constant<caf::atom("dr_failed")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;
using commit_atom = caf::atom_constant<caf::atom("commit")>;
using marker_done_atom = caf::atom_constant<caf::atom("mk_done")>;
using revoke_atom = caf::atom_constant<caf::atom("revoke")>;
using poll_atom = caf::atom_constant<caf::atom("poll")>;
using credit_atom = caf::atom_constant<caf::atom("credit")>;
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;
using watermark_atom = caf::atom_constant<caf::atom("watermark")>;
using eof_atom = caf::atom_constant<caf::atom("eof")>;
using still_caught_up_atom = caf::atom_constant<caf::atom("still_eof")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using announce_atom = caf::atom_constant<caf::atom("announce")>;
using input_state_atom = caf::atom_constant<caf::atom("in_state")>;
using txn_done_atom = caf::atom_constant<caf::atom("txn_done")>;
using query_atom = caf::atom_constant<caf::atom("query")>;

/// The operator actor: runs one topology node's processor for one task.
using operator_actor = caf::typed_actor<
  /// Processes a batch and forwards the results to the children.
  caf::reacts_to<batch_atom, batch_ptr>,
  /// The clock of parent `int` moved to `int64_t` (`bool`: the parent is idle).
  caf::reacts_to<watermark_atom, int, int64_t, bool>,
  /// A commit marker from a parent; passes on after the last parent's.
  caf::reacts_to<marker_atom, uint64_t>,
  /// Every record produced before marker `uint64_t` is acknowledged; `int64_t`: the last changelog
  /// offset among them, or -1.
  caf::reacts_to<epoch_acked_atom, uint64_t, int64_t>,
  /// Sources: the partition is caught up (end of partition), or still is (see
  /// confirmation_interval_ms).
  caf::reacts_to<eof_atom, std::string, int32_t>,
  /// Sources: looks for idle inputs (every idle.timeout.ms / 4).
  caf::reacts_to<tick_atom>,
  /// Repartition sinks: announces the watermark held back by throttling.
  caf::reacts_to<announce_atom>,
  /// The broker refused a record: the task fails.
  caf::reacts_to<delivery_failed_atom, std::string>,
  /// Tries again to enqueue the records the full producer queue refused.
  caf::reacts_to<retry_atom>,
  /// Deferred work is done: runs its continuation and takes input again.
  caf::reacts_to<resume_atom, continuation>,
  /// An interactive query of this node's store: JSON entries.
  caf::replies_to<query_atom, store_query>::with<std::string>,
  /// Exactly-once: the transaction holding what came before marker `uint64_t` ended (`bool`:
  /// committed); sends what was held since it, and checkpoints the store if it committed.
  caf::reacts_to<txn_done_atom, bool, uint64_t>>;

/// The task actor: one (sub-topology, partition); feeds its sources and runs commit markers
/// through its operators.
using task_actor = caf::typed_actor<
  /// A consumed raw_batch of one source partition.
  caf::reacts_to<batch_atom, batch_ptr>,
  /// The partition is caught up: told to its source.
  caf::reacts_to<eof_atom, std::string, int32_t>,
  /// The partition is still at its end and its broker answers: told to its source if nothing came
  /// since; dropped while restoring.
  caf::reacts_to<still_caught_up_atom, std::string, int32_t>,
  /// Sends a marker through the operators; answers with the offsets once all of them passed it.
  caf::replies_to<commit_atom>::with<source_offsets>,
  /// A source passed marker `uint64_t` with this input state (commit metadata) of a partition.
  caf::reacts_to<input_state_atom, uint64_t, std::string, int32_t, std::string>,
  /// Operator `int` passed marker `uint64_t` with all deliveries acked (its store's changelog
  /// position, or -1).
  caf::reacts_to<marker_done_atom, int, uint64_t, int64_t>,
  /// Stops reading a partition (after a commit).
  caf::reacts_to<revoke_atom, std::string, int32_t>,
  /// The stores are restored: starts the operators.
  caf::reacts_to<resume_atom, std::shared_ptr<task_stores>>,
  /// Exactly-once: the transaction ended (`bool`: committed); told to every operator with the last
  /// marker the task answered.
  caf::reacts_to<txn_done_atom, bool>>;

/// The group member: the instance's consumer (one per instance, detached).
using group_member_actor = caf::typed_actor<
  /// Consumes a round of records and hands them to tasks.
  caf::reacts_to<poll_atom>,
  /// A partition's batch (slot `uint64_t`) is done: its records and bytes are credited back.
  caf::reacts_to<credit_atom, uint64_t, int64_t, int64_t>,
  /// Commits every task's offsets (timer).
  caf::reacts_to<commit_atom>,
  /// Commits, leaves the group, stops.
  caf::reacts_to<shutdown_atom>>;

} // namespace sluice

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::batch_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::source_offsets)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::continuation)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::store_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<sluice::task_stores>)
