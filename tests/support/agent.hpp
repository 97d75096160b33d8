// Integration tests: an authenticated agent session (gw.agent.v1, token in
// the Authorization header) that makes one command and reads its answer.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "tests/support/clients.hpp"

namespace gw::test {

// The hello is read on construction.
struct agent {
  agent(std::uint16_t port, std::string_view token)
      : ws(port, "gw.agent.v1", std::chrono::seconds(5), 0, std::string(token)) {
    EXPECT_EQ(boost::json::parse(ws.read_text()).at("t").as_string(), "hello");
  }
  // Sends `frame` and returns the next frame.
  boost::json::object call(const std::string& frame) {
    ws.send_text(frame);
    return boost::json::parse(ws.read_text()).as_object();
  }
  ws_client ws;
};

// An answer's error code, or "ok".
inline std::string code(const boost::json::object& answer) {
  return answer.contains("code") ? std::string(answer.at("code").as_string()) : "ok";
}

}  // namespace gw::test
