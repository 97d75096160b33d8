#include "protocol/agent_frames.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

namespace gw::protocol {
namespace {

decode_failure failure_of(std::string_view frame) {
  auto r = decode_command(frame);
  EXPECT_TRUE(std::holds_alternative<decode_failure>(r)) << frame;
  return std::holds_alternative<decode_failure>(r) ? std::get<decode_failure>(r) : decode_failure{};
}

TEST(AgentFrames, DecodesPing) {
  auto r = decode_command(R"({"c":"ping","id":"a1"})");
  ASSERT_TRUE(std::holds_alternative<command>(r));
  EXPECT_EQ(std::get<command>(r).kind, command_kind::ping);
  EXPECT_EQ(std::get<command>(r).id, "a1");
}

TEST(AgentFrames, RejectsBadFramesWithReasons) {
  auto f = failure_of("not json");
  EXPECT_EQ(f.error, frame_error::bad_frame);
  EXPECT_NE(f.message.find("JSON"), std::string::npos);

  EXPECT_EQ(failure_of("[1,2]").error, frame_error::bad_frame);
  EXPECT_NE(failure_of(R"({"c":"ping"})").message.find("\"id\""), std::string::npos);
  EXPECT_EQ(failure_of(R"({"c":"ping","id":7})").error, frame_error::bad_frame);
  EXPECT_EQ(failure_of(R"({"c":"ping","id":""})").error, frame_error::bad_frame);
  EXPECT_EQ(failure_of(R"({"c":"ping","id":")" + std::string(65, 'x') + "\"}").error,
            frame_error::bad_frame);

  auto no_command = failure_of(R"({"id":"k"})");
  EXPECT_EQ(no_command.error, frame_error::bad_frame);
  EXPECT_EQ(no_command.id, "k");  // the id is echoed when usable
}

TEST(AgentFrames, UnknownCommandKeepsId) {
  auto f = failure_of(R"({"c":"fly","id":"z9"})");
  EXPECT_EQ(f.error, frame_error::unknown_command);
  EXPECT_EQ(f.id, "z9");
  EXPECT_NE(f.message.find("fly"), std::string::npos);
}

TEST(AgentFrames, EncodesReplies) {
  auto pong = boost::json::parse(encode_pong("q\"1")).as_object();
  EXPECT_EQ(pong.at("t").as_string(), "pong");
  EXPECT_EQ(pong.at("id").as_string(), "q\"1");

  auto err = boost::json::parse(encode_error("i", frame_error::unknown_command, "m")).as_object();
  EXPECT_EQ(err.at("t").as_string(), "err");
  EXPECT_EQ(err.at("code").as_string(), "unknown_command");
  EXPECT_EQ(err.at("msg").as_string(), "m");
  EXPECT_FALSE(
      boost::json::parse(encode_error("", frame_error::bad_frame, "m")).as_object().contains("id"));
}

}  // namespace
}  // namespace gw::protocol
