// The values parsed from a consumed batch live in one json_arena: parsing a batch allocates a few
// blocks, not one or more per record, and the values stay correct when copied on several threads.
// The whole filter path (parse, predicate, map built in the input's storage, serialize) allocates
// per batch, not per record.
#include <sluice/topology/json_arena.hpp>
#include <sluice/topology/stream.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "../allocation_counter.hpp"

namespace json = boost::json;
using namespace sluice;

namespace {

using sluice::test::count_allocations;

// Just enough context to run a source processor: keeps what it forwards.
class forward_context final : public processor_context {
public:
  void forward(batch_ptr b, int) override { forwarded.push_back(std::move(b)); }
  int sink_topic(const std::string&) override { return 0; }
  void produce(int, std::string_view, std::string_view value, const record_meta&, bool) override {
    ++produced;
    produced_bytes += value.size();
  }
  void deserialization_failed(const raw_record&, const std::exception&) override { ++bad; }
  void processing_failed(const record_meta&, std::string_view, const std::exception&) override { ++bad; }
  const std::string& task_id() const override { return task_; }
  int64_t watermark() const override { return no_watermark; }
  void observe_event_time(int64_t) override {}
  void late_record(const record_meta&, std::string_view) override {}
  key_value_store& key_value_state() override { throw std::logic_error("no store"); }
  window_store& window_state() override { throw std::logic_error("no store"); }
  resume_callback defer() override { throw std::logic_error("no defer"); }

  std::vector<batch_ptr> forwarded;
  int bad = 0;
  size_t produced = 0, produced_bytes = 0;

private:
  std::string task_{"0_0"};
};

// `n` cpu readings as the generator writes them (long host names: not in a string's inline buffer).
struct readings {
  std::vector<std::string> keys, values;
  explicit readings(int n) {
    for (int i = 0; i < n; ++i) {
      keys.push_back("{\"hostname\":\"host-with-a-long-name-" + std::to_string(i % 50) + "\"}");
      values.push_back("{\"occurred_at\":" + std::to_string(1700000000000 + i) +
                       ",\"hostname\":\"host-with-a-long-name-" + std::to_string(i % 50) + "\",\"cpu\":\"cpu-number-" +
                       std::to_string(i % 8) + "\",\"usage\":" + std::to_string(50 + (i % 50)) + ".123456789012}");
    }
  }
  std::shared_ptr<raw_batch> batch() const {
    auto b = std::make_shared<raw_batch>();
    for (size_t i = 0; i < keys.size(); ++i) {
      raw_record r;
      r.key = keys[i];
      r.value = values[i];
      r.meta = {int64_t(i), int64_t(i), 0, nullptr};
      b->records.push_back(r);
      b->bytes += static_cast<int64_t>(keys[i].size() + values[i].size());
    }
    return b;
  }
};

using json_source = detail::source_processor<serdes::json, serdes::json>;

// Runs `in` through `chain` (source first, sink last) as the operators of a task do: each batch
// handed on with no other reference to it, so an operator may move records out of it.
void run_chain(forward_context& ctx, batch_ptr in, std::initializer_list<processor*> chain) {
  for (auto* p : chain) {
    p->process(in, ctx);
    if (ctx.forwarded.empty())
      return;
    in = std::move(ctx.forwarded.back());
    ctx.forwarded.clear();
  }
}

TEST(json_arena, a_parsed_batch_allocates_a_few_blocks_not_one_per_record) {
  const readings input{1000};
  auto raw = input.batch();
  json_source source;
  forward_context ctx;
  const auto n = count_allocations([&] { source.process(raw, ctx); });
  ASSERT_EQ(ctx.forwarded.size(), 1u);
  const auto& out = static_cast<const record_batch<json::value, json::value>&>(*ctx.forwarded[0]);
  ASSERT_EQ(out.records.size(), 1000u);
  EXPECT_EQ(ctx.bad, 0);
  // The batch's vector, the arena and its blocks (each twice the last, up to 1 MiB).
  EXPECT_LT(n, 20u) << "allocations for 1000 records";
  // The same parse on the default heap: several per record (object tables, keys, long strings).
  const auto heap = count_allocations([&] {
    for (const auto& v : input.values)
      (void)serdes::json{}.deserialize(v);
  });
  EXPECT_GT(heap, 3000u);
  // And the values are what the text says.
  EXPECT_EQ(out.records[7].value.at("occurred_at").as_int64(), 1700000000007);
  EXPECT_EQ(out.records[7].value.at("hostname").as_string(), "host-with-a-long-name-7");
  EXPECT_EQ(out.records[7].value.at("usage").as_double(), 57.123456789012);
  EXPECT_EQ(out.records[7].key.at("hostname").as_string(), "host-with-a-long-name-7");
}

TEST(json_arena, values_outlive_the_batch_and_copy_correctly_on_several_threads_at_once) {
  const readings input{2000};
  json_source source;
  forward_context ctx;
  source.process(input.batch(), ctx); // the raw batch is gone: the values keep their arena alive
  const auto batch = ctx.forwarded.at(0);
  const auto& records = static_cast<const record_batch<json::value, json::value>&>(*batch).records;
  std::vector<std::thread> threads;
  std::vector<std::vector<json::value>> copies(4);
  for (auto& mine : copies)
    threads.emplace_back([&records, &mine] {
      for (int round = 0; round < 5; ++round)
        for (const auto& r : records)
          mine.push_back(r.value); // a copy allocates from the source's arena
    });
  for (auto& t : threads)
    t.join();
  for (const auto& mine : copies) {
    ASSERT_EQ(mine.size(), 5 * records.size());
    for (size_t i = 0; i < mine.size(); ++i)
      ASSERT_EQ(mine[i], records[i % records.size()].value) << i;
  }
}

TEST(json_arena, allocations_are_aligned_and_disjoint) {
  json_arena arena{256};
  std::vector<std::pair<unsigned char*, std::size_t>> blocks;
  for (std::size_t i = 0; i < 5000; ++i) {
    const std::size_t size = 1 + (i * 37) % 3000, align = std::size_t{1} << (i % 5);
    auto* p = static_cast<unsigned char*>(arena.allocate(size, align));
    ASSERT_EQ(reinterpret_cast<std::uintptr_t>(p) % align, 0u);
    std::fill(p, p + size, static_cast<unsigned char>(i));
    blocks.emplace_back(p, size);
  }
  for (std::size_t i = 0; i < blocks.size(); ++i)
    for (std::size_t j = 0; j < blocks[i].second; ++j)
      ASSERT_EQ(blocks[i].first[j], static_cast<unsigned char>(i)) << "block " << i << " was overwritten";
}

TEST(json_arena, batch_after_batch_reuses_the_same_blocks) {
  auto one_batch = [] {
    json_arena arena{64 * 1024};
    for (int i = 0; i < 2000; ++i)
      static_cast<char*>(arena.allocate(100, 8))[99] = 1; // 200 KB: blocks of 64, 128 and 256 KiB
  };
  one_batch(); // the first batch takes its blocks from the heap and leaves them in the pool
  EXPECT_EQ(count_allocations(one_batch), 0u);
  // A block bigger than the largest pooled one is the allocator's, every time.
  auto oversized = [] {
    json_arena arena{4096};
    static_cast<char*>(arena.allocate(3 << 20, 8))[0] = 1;
  };
  oversized();
  EXPECT_EQ(count_allocations(oversized), 1u);
}

TEST(json_arena, the_filter_path_allocates_per_batch_not_per_record) {
  // cpu-anomaly's first pipeline: usage > 80, the row {time_ltz, hostname, cpu, usage} built in the
  // reading's storage, written as JSON.
  auto over_80 = [](const json::value& v) { return v.at("usage").to_number<double>() > 80; };
  auto to_row = [](const json::value& reading) {
    const auto& r = reading.as_object();
    json::object row(4, reading.storage());
    row.emplace("time_ltz", r.at("occurred_at"));
    row.emplace("hostname", r.at("hostname"));
    row.emplace("cpu", r.at("cpu"));
    row.emplace("usage", r.at("usage"));
    return json::value(std::move(row));
  };
  json_source source;
  detail::filter_processor<json::value, json::value, decltype(over_80)> filter{over_80, "usage-over-80", false};
  detail::map_values_processor<json::value, json::value, json::value, decltype(to_row)> map{to_row, "to-filter-row"};
  detail::sink_processor<json::value, json::value, serdes::json, serdes::json> sink{"filtered", "filtered-sink"};
  forward_context ctx;
  sink.init(ctx);
  auto run = [&](const std::shared_ptr<raw_batch>& raw) { run_chain(ctx, raw, {&source, &filter, &map, &sink}); };
  const readings input{2000};
  run(input.batch()); // warms the sink's buffers
  const auto raw = input.batch();
  const auto produced_before = ctx.produced;
  const auto n = count_allocations([&] { run(raw); });
  const auto produced = ctx.produced - produced_before;
  EXPECT_EQ(produced, 800u); // usage 50.12..99.12: 80.12 and above, 20 of every 50
  // Per batch: the arena and its blocks, one vector per operator, the batches themselves.
  EXPECT_LT(n, 30u) << "allocations for 2000 records, " << produced << " written";
}

TEST(json_arena, the_json_text_filter_path_allocates_per_batch_not_per_record) {
  // The same pipeline on json_text: the text copied into the batch's arena, fields read from it,
  // the row written from the fields' text into the same arena.
  auto over_80 = [](const json_text& v) { return v.number("usage") > 80; };
  auto to_row = [](const json_text& r) {
    const auto [at, host, cpu, usage] = r.raw_fields({"occurred_at", "hostname", "cpu", "usage"});
    return json_text::object({{"time_ltz", at}, {"hostname", host}, {"cpu", cpu}, {"usage", usage}}, r.storage());
  };
  detail::source_processor<serdes::json_text, serdes::json_text> source;
  detail::filter_processor<json_text, json_text, decltype(over_80)> filter{over_80, "usage-over-80", false};
  detail::map_values_processor<json_text, json_text, json_text, decltype(to_row)> map{to_row, "to-filter-row"};
  detail::sink_processor<json_text, json_text, serdes::json_text, serdes::json_text> sink{"filtered", "filtered-sink"};
  forward_context ctx;
  sink.init(ctx);
  auto run = [&](const std::shared_ptr<raw_batch>& raw) { run_chain(ctx, raw, {&source, &filter, &map, &sink}); };
  const readings input{2000};
  run(input.batch()); // warms the sink's buffers and the thread's parsers
  const auto raw = input.batch();
  const auto before = ctx.produced;
  const auto bytes_before = ctx.produced_bytes;
  const auto n = count_allocations([&] { run(raw); });
  EXPECT_EQ(ctx.produced - before, 800u);
  EXPECT_EQ(ctx.bad, 0);
  // The rows the json::value pipeline above writes: the same bytes in all.
  size_t want_bytes = 0;
  std::string row;
  for (const auto& v : input.values) {
    const auto r = serdes::parse_json(v);
    if (r.at("usage").to_number<double>() <= 80)
      continue;
    row.clear();
    serdes::write_json(json::object{{"time_ltz", r.at("occurred_at")},
                                    {"hostname", r.at("hostname")},
                                    {"cpu", r.at("cpu")},
                                    {"usage", r.at("usage")}},
                       row);
    want_bytes += row.size();
  }
  EXPECT_EQ(ctx.produced_bytes - bytes_before, want_bytes);
  EXPECT_LT(n, 30u) << "allocations for 2000 records";
}

} // namespace
