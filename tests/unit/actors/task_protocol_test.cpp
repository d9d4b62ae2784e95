// The task protocol on CAF's deterministic test coordinator, without a broker: one thread runs
// every message, one at a time, in the order the test says. A task of a stateless sub-topology
// (source -> filter -> foreach) takes consumed batches, answers commits with the positions after
// every batch it took (commit markers pass the operators behind the records before them), gives
// a batch's flow-control credit back only when the last batch derived from it is gone, takes
// batches of two inputs in head-timestamp order, and drops a revoked partition from its commits. Delivery epochs
// acknowledge their marker after the last delivery report, with the highest offset of the tracked topic.
#include "actors/messages.hpp"
#include "actors/record_collector.hpp"
#include "actors/task_actor.hpp"
#include "actors/task_stores.hpp"

#include <sluice/topology/stream.hpp>
#include <sluice/topology/topology_builder.hpp>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include <optional>
#include <string>
#include <vector>

using namespace sluice;

namespace {

const std::string in = "readings";
const std::string late = "late-readings"; // a second source topic of the same node

/// Sets `flag` when destroyed: stands for a consumed batch's credit token.
struct credit_probe {
  bool* flag;
  ~credit_probe() { *flag = true; }
};

struct task_protocol : ::testing::Test {
  caf::actor_system_config config = [] {
    caf::actor_system_config c;
    c.set("scheduler.policy", caf::atom("testing"));
    c.set("logger.console-verbosity", caf::atom("quiet"));
    add_error_category(c);
    return c;
  }();
  caf::actor_system system{config};
  caf::scheduler::test_coordinator& sched = dynamic_cast<caf::scheduler::test_coordinator&>(system.scheduler());
  streams_config settings = [] {
    streams_config s;
    s.application_id = "task-protocol";
    s.bootstrap_servers = "127.0.0.1:9"; // never reached: the sub-topology writes nothing
    s.set("kafka.log_level", "0");       // nor is the producer's failing connection news
    spdlog::set_level(spdlog::level::err);
    return s;
  }();
  record_collector collector{settings};
  std::shared_ptr<const store_resources> shared = std::make_shared<store_resources>(settings);
  std::map<std::string, int32_t> partitions{{in, 1}, {late, 1}};
  instance_metrics metrics;
  std::vector<std::string> seen; // values the foreach saw, in order
  std::vector<std::vector<char>> storage;

  topology counting_readings() {
    topology_builder b;
    b.stream<serdes::string, serdes::string>(std::vector<std::string>{in, late})
      .filter([](const std::string&, const std::string& v) { return v != "skip"; })
      .foreach ([this](const std::string&, const std::string& v) { seen.push_back(v); });
    return b.build();
  }

  std::vector<task_actor> tasks;

  task_actor spawn(std::vector<std::pair<std::string, int32_t>> inputs) {
    tasks.push_back(spawn_task(system, counting_readings(), 0, 0, &collector, &settings, shared, &partitions, {},
                               std::move(inputs), &metrics));
    return tasks.back();
  }

  // The actor system waits for every actor when it goes, and only this thread runs them.
  void TearDown() override {
    for (const auto& task : tasks)
      caf::anon_send_exit(task, caf::exit_reason::user_shutdown);
    sched.run();
    spdlog::set_level(spdlog::level::info);
  }

  /// A consumed batch of `values` from partition 0 of `topic`, starting at `offset`, holding `credit`.
  batch_ptr consumed(const std::string& topic, int64_t offset, const std::vector<std::string>& values,
                     std::shared_ptr<void> credit = nullptr) {
    const int32_t partition = 0;
    auto b = std::make_shared<raw_batch>();
    b->topic = &topic;
    b->partition = partition;
    auto bytes = std::make_shared<std::vector<std::string>>(values);
    for (const auto& v : *bytes) {
      raw_record r;
      r.key = "k";
      r.value = v;
      r.meta = {1'700'000'000'000 + offset, offset, partition, &topic};
      b->records.push_back(r);
      ++offset;
    }
    b->next_offset = offset;
    b->storage = bytes;
    b->credit = std::move(credit);
    return b;
  }

  /// Spawns an actor that asks `task` for a commit and puts the answer into `answer`. (Actors
  /// are spawned with an argument: CAF 0.17 dereferences a null argument tuple otherwise.)
  void ask_commit(const task_actor& task, std::optional<source_offsets>& answer) {
    system.spawn(
      [&answer](caf::event_based_actor* self, const task_actor& to) {
        self->request(to, caf::infinite, commit_atom::value).then([&answer](const source_offsets& o) { answer = o; });
      },
      task);
  }

  /// Asks `task` for a commit and runs every message: the offsets it answered, if it did.
  std::optional<source_offsets> commit(const task_actor& task) {
    std::optional<source_offsets> answer;
    ask_commit(task, answer);
    sched.run();
    return answer;
  }
};

/// The committed position of each topic (all partitions 0).
std::map<std::string, int64_t> by_topic(const source_offsets& offsets) {
  std::map<std::string, int64_t> out;
  for (const auto& o : offsets)
    out[o.topic] = o.offset;
  return out;
}

using positions = std::map<std::string, int64_t>;

} // namespace

TEST_F(task_protocol, a_commit_answers_the_positions_after_every_batch_taken_before_it) {
  auto task = spawn({{in, 0}});
  sched.run();
  caf::anon_send(task, batch_atom::value, consumed(in, 0, {"a", "skip", "b"}));
  caf::anon_send(task, batch_atom::value, consumed(in, 3, {"c"}));
  const auto offsets = commit(task);
  ASSERT_TRUE(offsets.has_value());
  EXPECT_EQ(by_topic(*offsets), (positions{{in, 4}}));
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c"})) << "the marker passed records still on their way";
  EXPECT_FALSE(offsets->front().metadata.empty()) << "the commit carries the input's state";
}

TEST_F(task_protocol, a_marker_waits_behind_the_records_sent_before_it) {
  auto task = spawn({{in, 0}});
  sched.run();
  caf::anon_send(task, batch_atom::value, consumed(in, 0, {"a", "b"}));
  std::optional<source_offsets> answer;
  ask_commit(task, answer);
  // One message at a time: the answer never comes before the foreach saw both records.
  while (sched.try_run_once()) {
    if (answer) {
      EXPECT_EQ(seen.size(), 2u) << "answered before the records ahead of the marker were processed";
    }
  }
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(by_topic(*answer), (positions{{in, 2}}));
}

TEST_F(task_protocol, a_batch_credit_returns_once_every_batch_made_from_it_is_gone) {
  auto task = spawn({{in, 0}});
  sched.run();
  bool returned = false;
  auto credit = std::make_shared<credit_probe>(&returned);
  caf::anon_send(task, batch_atom::value, consumed(in, 0, {"a", "b"}, credit));
  credit.reset();
  EXPECT_FALSE(returned) << "credit returned before the batch was processed";
  sched.run();
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_TRUE(returned) << "credit still held after every operator is done with the batch";
}

TEST_F(task_protocol, with_two_inputs_a_batch_waits_until_the_other_input_has_data_or_is_caught_up) {
  auto task = spawn({{in, 0}, {late, 0}});
  sched.run();
  caf::anon_send(task, batch_atom::value, consumed(late, 10, {"b", "c"}));
  caf::anon_send(task, batch_atom::value, consumed(in, 0, {"a"}));
  auto offsets = commit(task);
  ASSERT_TRUE(offsets.has_value());
  EXPECT_EQ(by_topic(*offsets), (positions{{in, 1}})) << "the later input went ahead";
  EXPECT_EQ(seen, (std::vector<std::string>{"a"})) << "the earliest head timestamp goes first";
  caf::anon_send(task, eof_atom::value, in, int32_t{0});
  offsets = commit(task);
  ASSERT_TRUE(offsets.has_value());
  EXPECT_EQ(by_topic(*offsets), (positions{{in, 1}, {late, 12}}));
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(task_protocol, a_revoked_input_leaves_the_commit_and_holds_the_other_back_no_more) {
  auto task = spawn({{in, 0}, {late, 0}});
  sched.run();
  caf::anon_send(task, batch_atom::value, consumed(in, 0, {"a"}));   // waits for the other input
  caf::anon_send(task, batch_atom::value, consumed(late, 1, {"b"})); // "a" goes, "b" waits
  caf::anon_send(task, batch_atom::value, consumed(in, 2, {"c"}));   // "b" goes, "c" waits
  auto offsets = commit(task);
  ASSERT_TRUE(offsets.has_value());
  EXPECT_EQ(by_topic(*offsets), (positions{{in, 1}, {late, 2}}));
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"}));
  caf::anon_send(task, batch_atom::value, consumed(late, 3, {"x"})); // "c" goes, "x" waits
  caf::anon_send(task, revoke_atom::value, late, int32_t{0});        // "x" goes with its partition
  caf::anon_send(task, batch_atom::value, consumed(in, 3, {"d"}));   // nothing holds it back now
  offsets = commit(task);
  ASSERT_TRUE(offsets.has_value());
  EXPECT_EQ(by_topic(*offsets), (positions{{in, 4}}));
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c", "d"}));
}

TEST_F(task_protocol, an_epoch_acknowledges_its_marker_after_the_last_delivery) {
  std::vector<std::pair<uint64_t, int64_t>> acks;
  std::vector<std::string> failures;
  auto owner = caf::actor_cast<operator_actor>(system.spawn(
    [&](caf::event_based_actor*, int) -> caf::behavior {
      return {
        [&](epoch_acked_atom, uint64_t marker, int64_t offset) { acks.emplace_back(marker, offset); },
        [&](delivery_failed_atom, const std::string& why) { failures.push_back(why); },
      };
    },
    0));
  auto* changelog = reinterpret_cast<rd_kafka_topic_t*>(&acks); // only compared, never used
  auto* other = reinterpret_cast<rd_kafka_topic_t*>(&failures);
  auto* epoch = new delivery_epoch{owner, changelog, 0};
  epoch->add();
  epoch->add();
  epoch->add();
  epoch->close(7);
  epoch->delivered(nullptr, changelog, 41);
  epoch->delivered(nullptr, other, 99);
  sched.run();
  EXPECT_TRUE(acks.empty()) << "acknowledged with a record still in flight";
  epoch->delivered(nullptr, changelog, 40); // reports may come out of order
  sched.run();
  EXPECT_EQ(acks, (std::vector<std::pair<uint64_t, int64_t>>{{7, 41}}));

  auto* early = new delivery_epoch{owner, changelog, 0}; // every report before the marker
  early->add();
  early->add();
  early->add();
  early->withdraw(); // not enqueued
  early->delivered(nullptr, changelog, 50);
  early->delivered(nullptr, changelog, 51);
  sched.run();
  EXPECT_EQ(acks.size(), 1u) << "acknowledged before its marker passed";
  early->close(9);
  sched.run();
  EXPECT_EQ(acks, (std::vector<std::pair<uint64_t, int64_t>>{{7, 41}, {9, 51}}));

  auto* failing = new delivery_epoch{owner, changelog, 0};
  failing->add();
  failing->close(8);
  failing->delivered("Broker: Message size too large");
  sched.run();
  EXPECT_EQ(failures, (std::vector<std::string>{"Broker: Message size too large"}));
  caf::anon_send_exit(owner, caf::exit_reason::user_shutdown);
  sched.run();
}
