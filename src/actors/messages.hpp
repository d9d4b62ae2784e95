// The actor interfaces of the runtime: every message an actor handles, one comment each.
// CAF 0.17 spelling stays inside src/actors.
#pragma once

#include "actors/errors.hpp"
#include "actors/interactive_queries.hpp"
#include <sluice/topology/processor.hpp>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

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

// operator actor (one per node per task)
//   (batch_atom, batch_ptr)            process a batch, forward results to the children
//   (watermark_atom, int parent, int64_t watermark, bool idle)   the clock of a parent moved
//   (marker_atom, uint64_t id)         a commit marker from a parent; passes on after the last parent's
//   (epoch_acked_atom, uint64_t id, int64_t offset)   all records produced before marker `id` are
//                                      acknowledged; `offset`: the last changelog offset among them, or -1
//   (eof_atom, string topic, int32_t partition)   sources: the partition is caught up (end of partition),
//                                      or still is (confirmations: see confirmation_interval_ms)
//   (tick_atom)                        sources: look for idle inputs (every idle.timeout.ms / 4)
//   (announce_atom)                    repartition sinks: announce the watermark held back by throttling
//   (delivery_failed_atom, string)     the broker refused a record: the task fails
//   (retry_atom)                       try again to enqueue records the full producer queue refused
//   (resume_atom, continuation)        deferred work is done: run its continuation, take input again
//   (query_atom, store_query) -> string   an interactive query of this node's store: JSON entries
//   (txn_done_atom, bool committed, uint64_t marker)   exactly-once: the transaction holding what
//                                      came before marker `marker` ended: send what was held since it
//                                      (and checkpoint the store if it committed)
// task actor (one per task)
//   (batch_atom, batch_ptr)            a consumed raw_batch of one source partition
//   (eof_atom, string topic, int32_t partition)   the partition is caught up: told to its source
//   (still_caught_up_atom, string topic, int32_t partition)   the partition is still at its end and its
//                                      broker answers: told to its source if nothing came since; dropped
//                                      while restoring
//   (commit_atom) -> source_offsets    send a marker; answer with the offsets once all nodes passed it
//   (input_state_atom, uint64_t id, string topic, int32_t partition, string state)   a source passed
//                                      marker `id` with this input state (commit metadata)
//   (marker_done_atom, int node, uint64_t id, int64_t changelog_offset)   an operator passed marker
//                                      `id` with all deliveries acked (its store's changelog position, or -1)
//   (revoke_atom, string topic, int32_t partition)   stop reading a partition (after a commit)
//   (resume_atom, shared_ptr<task_stores>)   the stores are restored: start the operators
//   (txn_done_atom, bool committed)    exactly-once: the transaction ended; told to every operator
//                                      with the last marker the task answered
// group member (one per instance, detached)
//   (poll_atom)                        consume a round of records and hand them to tasks
//   (credit_atom, uint64_t slot, int64_t records, int64_t bytes)   a partition's batch is done
//   (commit_atom)                      commit every task's offsets (timer)
//   (shutdown_atom)                    commit, leave the group, stop
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

} // namespace sluice

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::batch_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::source_offsets)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::continuation)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sluice::store_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<sluice::task_stores>)
