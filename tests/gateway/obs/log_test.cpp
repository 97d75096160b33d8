#include "gateway/obs/log.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

namespace gw::log {
namespace {

TEST(Log, LineIsOneJsonObjectWithFields) {
  auto line = format_line(level::warn, "disk \"slow\"",
                          {{"ms", 12}, {"path", std::string("/d")}, {"ok", false}});
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  auto o = boost::json::parse(line).as_object();
  EXPECT_EQ(o.at("level").as_string(), "warn");
  EXPECT_EQ(o.at("msg").as_string(), "disk \"slow\"");
  EXPECT_EQ(o.at("ms").as_int64(), 12);
  EXPECT_EQ(o.at("path").as_string(), "/d");
  EXPECT_EQ(o.at("ok").as_bool(), false);
  auto ts = o.at("ts").as_string();
  ASSERT_EQ(ts.size(), 24u);  // 2026-11-22T17:30:00.123Z
  EXPECT_EQ(ts[10], 'T');
  EXPECT_EQ(ts[23], 'Z');
}

TEST(Log, LevelsFilter) {
  set_level(level::warn);
  EXPECT_FALSE(enabled(level::info));
  EXPECT_TRUE(enabled(level::warn));
  EXPECT_TRUE(enabled(level::error));
  set_level(level::info);
  EXPECT_TRUE(enabled(level::info));
  EXPECT_FALSE(enabled(level::debug));
  EXPECT_EQ(parse_level("debug"), level::debug);
  EXPECT_FALSE(parse_level("verbose"));
  EXPECT_EQ(name_of(level::error), "error");
}

}  // namespace
}  // namespace gw::log
