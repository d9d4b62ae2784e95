// A small stateful app for the state integration tests: the largest value seen per key, kept in a
// changelogged key-value store. Input "<prefix>-in" (key: string, value: decimal integer),
// output "<prefix>-out" (key, decimal max). Max is idempotent, so results after a crash and replay
// must equal an uninterrupted run's exactly.
#include <sluice/command_line.hpp>
#include <sluice/sluice.hpp>

#include <charconv>
#include <iostream>

namespace {

using namespace sluice;

class max_processor final : public processor {
public:
  void process(const batch_ptr& in, processor_context& ctx) override {
    auto& b = static_cast<record_batch<std::string, std::string>&>(*in);
    auto& store = ctx.key_value_state();
    auto out = make_batch_like<std::string, std::string>(b, b.records.size());
    for (auto& r : b.records) {
      int64_t v = 0;
      std::from_chars(r.value.data(), r.value.data() + r.value.size(), v);
      int64_t current = INT64_MIN;
      if (store.get_into(r.key, buf_).value())
        std::from_chars(buf_.data(), buf_.data() + buf_.size(), current);
      if (v <= current)
        continue;
      buf_ = std::to_string(v);
      if (!store.put(r.key, buf_, r.meta.timestamp))
        throw std::runtime_error("store put failed");
      out->records.push_back({r.key, buf_, r.meta});
    }
    if (!out->records.empty())
      ctx.forward(std::move(out));
  }

private:
  std::string buf_;
};

} // namespace

int main(int argc, char** argv) {
  CLI::App cli{"stateful test app: max value per key"};
  streams_config defaults;
  defaults.application_id = "stateful-test";
  config_flags flags{cli, defaults};
  std::string prefix = "state";
  cli.add_option("--prefix", prefix, "topic prefix");
  CLI11_PARSE(cli, argc, argv);
  try {
    auto config = flags.resolve();
    setup_logging(config.log_level);
    topology_builder b;
    auto max = b.stream<serdes::string, serdes::string>(prefix + "-in")
                 .process<std::string, std::string>([] { return std::make_unique<max_processor>(); }, "max");
    b.node(max.node()).store = store_spec{"max-store"};
    max.to(prefix + "-out");
    kafka_streams streams{b.build(), config};
    return streams.run();
  } catch (const std::exception& e) {
    std::cerr << "stateful-app: " << e.what() << "\n";
    return 2;
  }
}
