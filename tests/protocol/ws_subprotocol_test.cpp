#include "protocol/ws_subprotocol.hpp"

#include <gtest/gtest.h>

namespace gw::protocol {
namespace {

TEST(WsSubprotocol, PicksSupportedFromList) {
  EXPECT_EQ(negotiate_subprotocol("chat, gw.agent.v1"), "gw.agent.v1");
  EXPECT_EQ(negotiate_subprotocol("gw.agent.v1"), "gw.agent.v1");
  EXPECT_EQ(negotiate_subprotocol(" \tgw.agent.v1 ,x"), "gw.agent.v1");
}

TEST(WsSubprotocol, RefusesUnknownEmptyAndNearMisses) {
  EXPECT_FALSE(negotiate_subprotocol(""));
  EXPECT_FALSE(negotiate_subprotocol("chat"));
  EXPECT_FALSE(negotiate_subprotocol("GW.AGENT.V1"));  // tokens are case-sensitive
  EXPECT_FALSE(negotiate_subprotocol("gw.agent.v10"));
  EXPECT_FALSE(negotiate_subprotocol("gw.agent.v1x, gw.agent"));
  EXPECT_FALSE(negotiate_subprotocol(",,,"));
}

TEST(WsSubprotocol, ServerPreferenceWins) {
  constexpr std::string_view ours[] = {"v2", "v1"};
  EXPECT_EQ(negotiate_subprotocol("v1, v2", ours), "v2");
  EXPECT_EQ(negotiate_subprotocol("v1", ours), "v1");
}

}  // namespace
}  // namespace gw::protocol
