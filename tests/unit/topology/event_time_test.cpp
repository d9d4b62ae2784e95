// The watermark logic on its own: combining clocks, input clocks (plain and announced),
// idleness, announcements and the state kept in commit metadata.
#include <sluice/topology/event_time.hpp>

#include <gtest/gtest.h>

#include <vector>

using namespace sluice;

TEST(event_clock, combine_is_the_minimum_over_active_inputs) {
  std::vector<event_clock> in{{300, false}, {100, false}, {500, true}};
  EXPECT_EQ(combine(in), (event_clock{100, false}));
}

TEST(event_clock, an_unknown_active_input_holds_everything_back) {
  std::vector<event_clock> in{{300, false}, {}};
  EXPECT_EQ(combine(in).watermark, no_watermark);
}

TEST(event_clock, all_idle_is_idle_at_the_largest_watermark) {
  std::vector<event_clock> in{{300, true}, {no_watermark, true}, {100, true}};
  EXPECT_EQ(combine(in), (event_clock{300, true}));
  EXPECT_EQ(combine({}), (event_clock{no_watermark, true}));
}

TEST(event_clock, successor_never_moves_the_watermark_back) {
  EXPECT_EQ(successor({500, false}, {100, false}), (event_clock{500, false}));
  EXPECT_EQ(successor({500, true}, {700, false}), (event_clock{700, false}));
}

TEST(watermark_announcement, round_trips_and_rejects_garbage) {
  watermark_announcement a{2, 4, {1'700'000'000'123, true}};
  auto back = decode_announcement(encode_announcement(a));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->upstream, 2);
  EXPECT_EQ(back->upstreams, 4);
  EXPECT_EQ(back->clock, a.clock);
  auto unknown = decode_announcement(encode_announcement({0, 1, {}}));
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->clock.watermark, no_watermark);
  for (const char* bad : {"", "1/2/3", "1/2/3/2", "2/2/3/0", "-1/2/3/0", "0/0/3/0", "0/2/x/0", "0/2/3/0/",
                          "0/999999999/1/0", "0/2/3/1/x", "0/2/3/1/-5", "0/2/3/1/5/6"})
    EXPECT_FALSE(decode_announcement(bad)) << bad;
  auto leased = decode_announcement(encode_announcement({1, 2, {900, true}, 750}));
  ASSERT_TRUE(leased);
  EXPECT_EQ(leased->clock, (event_clock{900, true}));
  EXPECT_EQ(leased->lease_ms, 750);
  EXPECT_EQ(decode_announcement("1/2/900/1")->lease_ms, 0); // a writer without leases
}

TEST(input_clocks, plain_input_is_the_largest_event_time_seen) {
  input_clocks c;
  auto i = c.add("t", 0, false);
  c.observe(i, 50);
  c.observe(i, 40); // out of order: the clock stays
  EXPECT_EQ(c.clock(), (event_clock{50, false}));
}

TEST(input_clocks, repartition_input_waits_for_every_writer) {
  input_clocks c;
  auto i = c.add("r", 1, true);
  c.observe(i, 1000); // data records of a repartition input say nothing about time
  EXPECT_EQ(c.clock().watermark, no_watermark);
  c.announce(i, {0, 3, {500, false}});
  c.announce(i, {2, 3, {900, false}});
  EXPECT_EQ(c.clock().watermark, no_watermark); // writer 1 not heard
  c.announce(i, {1, 3, {700, false}});
  EXPECT_EQ(c.clock().watermark, 500);
  c.announce(i, {0, 3, {400, false}}); // an older announcement (a restarted writer) does not move it back
  EXPECT_EQ(c.clock().watermark, 500);
  c.announce(i, {0, 3, {800, true}}); // writer 0 idle: 700
  EXPECT_EQ(c.clock().watermark, 700);
}

// A writer that crashed while idle stops renewing its lease; records reach its source partition
// meanwhile. Once the other writers' announcements are stamped a lease after its last one, it
// holds the watermark back again, at its own, instead of letting the others close windows its
// records belong to.
TEST(input_clocks, an_idle_writer_whose_lease_runs_out_holds_back_again) {
  input_clocks c;
  auto i = c.add("r", 0, true);
  auto heard = [&](int32_t writer, event_clock clock, int64_t at, int64_t lease = 0) {
    watermark_announcement a{writer, 2, clock, lease};
    a.sent_at_ms = at;
    c.announce(i, a);
  };
  heard(0, {500, true}, 10'000, 750); // writer 0 idle, leased
  heard(1, {900, false}, 10'000);
  EXPECT_EQ(c.clock(), (event_clock{900, false}));
  heard(1, {1000, false}, 10'750); // within the lease
  EXPECT_EQ(c.clock(), (event_clock{1000, false}));
  heard(0, {500, true}, 10'700, 750); // renewed
  heard(1, {1100, false}, 11'400);
  EXPECT_EQ(c.clock(), (event_clock{1100, false}));
  heard(1, {1200, false}, 11'451); // writer 0 silent for longer than its lease: not idle any more
  EXPECT_EQ(c.clock(), (event_clock{500, false}));
  input_clocks restarted; // a restarted reader judges it alike
  auto j = restarted.add("r", 0, true);
  ASSERT_TRUE(restarted.restore(j, c.save(i)));
  EXPECT_EQ(restarted.clock(), (event_clock{500, false}));
  heard(0, {500, true}, 11'500, 750); // back, and idle
  EXPECT_EQ(c.clock(), (event_clock{1200, false}));
  heard(0, {600, true}, 11'600); // idle without a lease never lapses (a writer that gives none)
  heard(1, {1300, false}, 99'000);
  EXPECT_EQ(c.clock(), (event_clock{1300, false}));
}

TEST(input_clocks, caught_up_inputs_turn_idle_after_the_timeout_and_rejoin) {
  input_clocks c;
  auto a = c.add("t", 0, false);
  auto b = c.add("u", 0, false);
  c.observe(a, 100);
  c.observe(b, 900);
  c.caught_up(a, 1000);
  c.caught_up(a, 1250); // confirmed: still at the end
  c.caught_up(a, 1500);
  c.caught_up(a, 1750);
  EXPECT_FALSE(c.detect_idle(1999, 1000));
  EXPECT_TRUE(c.detect_idle(2000, 1000));
  EXPECT_EQ(c.clock(), (event_clock{900, false})); // a idle: b alone
  EXPECT_FALSE(c.detect_idle(5000, -1));
  c.received(a);
  c.observe(a, 150);
  EXPECT_EQ(c.clock(), (event_clock{150, false})); // rejoined
  c.caught_up(b, 3000);                            // never idle while not caught up: b has been
  c.caught_up(a, 3000);
  c.caught_up(b, 3500);
  c.caught_up(a, 3500);
  EXPECT_TRUE(c.detect_idle(4000, 1000));
  EXPECT_EQ(c.clock(), (event_clock{900, true}));
}

TEST(input_clocks, a_caught_up_input_whose_confirmations_lapse_is_behind) {
  const int64_t timeout = 1000, lapse = confirmations_lapse_after * confirmation_interval_ms(timeout);
  ASSERT_LT(lapse, timeout); // a consumer cut off at once is behind before it could turn idle
  input_clocks c;
  auto a = c.add("t", 0, false);
  auto b = c.add("u", 0, false);
  c.observe(a, 100);
  c.observe(b, 900);
  c.caught_up(a, 1000); // then its consumer loses the brokers: no confirmation
  EXPECT_FALSE(c.detect_idle(1000 + lapse, timeout));
  EXPECT_FALSE(c.detect_idle(2000, timeout)); // silent for the timeout, but not known to be at the end
  EXPECT_EQ(c.clock(), (event_clock{100, false}));
  c.caught_up(a, 2100); // the brokers answer again: caught up from now on
  EXPECT_FALSE(c.detect_idle(2100 + timeout - 1, timeout));
  for (int64_t t = 2100; t <= 2100 + timeout; t += lapse)
    c.caught_up(a, t);
  EXPECT_TRUE(c.detect_idle(2100 + timeout, timeout));
  EXPECT_EQ(c.clock(), (event_clock{900, false}));
  EXPECT_TRUE(c.detect_idle(2100 + timeout + 2 * lapse, timeout)); // an idle input that lapses rejoins
  EXPECT_EQ(c.clock(), (event_clock{100, false}));
}

TEST(input_clocks, state_survives_save_and_restore) {
  input_clocks c;
  auto p = c.add("t", 3, false);
  auto r = c.add("r", 3, true);
  c.observe(p, 1234);
  c.announce(r, {0, 2, {77, false}});
  c.announce(r, {1, 2, {88, true}});
  input_clocks d;
  auto p2 = d.add("t", 3, false);
  auto r2 = d.add("r", 3, true);
  ASSERT_TRUE(d.restore(p2, c.save(p)));
  ASSERT_TRUE(d.restore(r2, c.save(r)));
  EXPECT_EQ(d.clock_of(p2), c.clock_of(p));
  EXPECT_EQ(d.clock_of(r2), c.clock_of(r));
  EXPECT_EQ(d.save(r2), c.save(r));
  for (const char* bad :
       {"", "x", "w5", "u2:1,0", "u1:1,2", "u1:1,0;5,0", "u-1:", "u1:x,0", "u1:1,1,", "u1:1,1,5", "u1:1,1,5,-1"})
    EXPECT_FALSE(d.restore(r2, bad)) << bad;
  for (const char* bad : {"", "x", "w", "wabc", "w12x", "u1:1,0"})
    EXPECT_FALSE(d.restore(p2, bad)) << bad;
  EXPECT_EQ(d.save(r2), c.save(r)); // refused states changed nothing
  EXPECT_EQ(d.save(p2), c.save(p));
}
