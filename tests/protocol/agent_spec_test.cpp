// The specification and the codec name the same things: every command,
// view and error code the codec knows is documented in AGENT_PROTOCOL.md and
// in the AsyncAPI file, so neither can drift from the code unnoticed.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "protocol/agent_frames.hpp"

namespace gw::protocol {
namespace {

std::string read(const std::string& name) {
  std::ifstream in(std::string(GATEWAY_SOURCE_DIR) + "/protocol/" + name);
  EXPECT_TRUE(in) << name;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

constexpr command_kind all_commands[] = {
    command_kind::auth, command_kind::ping,   command_kind::sub,    command_kind::unsub,
    command_kind::list, command_kind::hist,   command_kind::recent, command_kind::send,
    command_kind::note, command_kind::assign, command_kind::close,  command_kind::reopen,
    command_kind::mark, command_kind::read};

TEST(AgentSpec, DocumentsEveryCommandViewAndErrorCode) {
  auto md = read("AGENT_PROTOCOL.md");
  auto yaml = read("agent-v1.asyncapi.yaml");
  for (auto k : all_commands) {
    auto n = std::string(name_of(k));
    EXPECT_NE(md.find("\n| `" + n + "` |"), std::string::npos) << "command table lacks " << n;
    EXPECT_NE(yaml.find("c: {const: " + n + "}"), std::string::npos) << "AsyncAPI lacks " << n;
  }
  for (int v = 0; v <= static_cast<int>(view::spam); ++v) {
    auto n = std::string(name_of(static_cast<view>(v)));
    EXPECT_NE(md.find("`" + n + "`"), std::string::npos) << "view " << n;
    EXPECT_NE(yaml.find(n), std::string::npos) << "view " << n;
  }
  for (int e = 0; e <= static_cast<int>(agent_error::internal); ++e) {
    auto n = std::string(code_of(static_cast<agent_error>(e)));
    EXPECT_NE(md.find("\n| `" + n + "` |"), std::string::npos) << "error table lacks " << n;
    EXPECT_NE(yaml.find(n), std::string::npos) << "AsyncAPI errorCode lacks " << n;
  }
}

}  // namespace
}  // namespace gw::protocol
