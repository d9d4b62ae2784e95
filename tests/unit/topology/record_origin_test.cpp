// Source positions on repartition records: the value prefix and the reader's filter.
#include <sluice/topology/record_origin.hpp>

#include <gtest/gtest.h>

using namespace sluice;

TEST(record_origin, round_trips_ahead_of_the_payload) {
  std::string out;
  encode_origin({3, 17, 123456789012, 2}, R"({"a":1})", out);
  auto back = decode_origin(out);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->first.source, 3);
  EXPECT_EQ(back->first.partition, 17);
  EXPECT_EQ(back->first.offset, 123456789012);
  EXPECT_EQ(back->first.ordinal, 2);
  EXPECT_EQ(back->second, R"({"a":1})");
  encode_origin({}, "", out); // no position (a window result), empty payload
  back = decode_origin(out);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->first.source, -1);
  EXPECT_EQ(back->first.offset, -1);
  EXPECT_EQ(back->second, "");
}

TEST(record_origin, values_without_it_are_left_alone) {
  EXPECT_FALSE(decode_origin(R"({"a":1})"));
  EXPECT_FALSE(decode_origin(""));
  EXPECT_FALSE(decode_origin(std::string_view{"\x00\xd7\x81", 3})); // truncated varint
}

TEST(origin_filter, drops_what_a_restarted_writer_writes_again) {
  origin_filter f;
  EXPECT_TRUE(f.admit({0, 1, 10, 0}));
  EXPECT_TRUE(f.admit({0, 1, 10, 1})); // a second record made from offset 10
  EXPECT_TRUE(f.admit({0, 2, 5, 0}));  // another source partition
  EXPECT_TRUE(f.admit({0, 1, 11, 0}));
  EXPECT_FALSE(f.admit({0, 1, 10, 1})); // the writer restarted from offset 10
  EXPECT_FALSE(f.admit({0, 1, 11, 0}));
  EXPECT_TRUE(f.admit({0, 1, 12, 0}));
  EXPECT_TRUE(f.admit({})); // no position: always
  EXPECT_TRUE(f.admit({}));
}

TEST(origin_filter, state_survives_save_and_restore) {
  origin_filter f;
  f.admit({0, 1, 10, 0});
  f.admit({2, 0, 7, 3});
  origin_filter g;
  ASSERT_TRUE(g.restore(f.save()));
  EXPECT_EQ(g.save(), f.save());
  EXPECT_FALSE(g.admit({2, 0, 7, 3}));
  EXPECT_TRUE(g.admit({2, 0, 8, 0}));
  origin_filter empty;
  EXPECT_EQ(empty.save(), "-");
  EXPECT_TRUE(g.restore("-"));
  EXPECT_TRUE(g.admit({0, 1, 0, 0}));
  for (const char* bad : {"", "x", "1:2:3", "1:2:3:x", "-1:0:0:0", "1:2:3:4:5"})
    EXPECT_FALSE(f.restore(bad)) << bad;
}
