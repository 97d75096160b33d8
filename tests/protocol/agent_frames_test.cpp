#include "protocol/agent_frames.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace gw::protocol {
namespace {

namespace json = boost::json;

decode_failure failure_of(std::string_view frame) {
  auto r = decode_command(frame);
  EXPECT_TRUE(std::holds_alternative<decode_failure>(r)) << frame;
  return std::holds_alternative<decode_failure>(r) ? std::get<decode_failure>(r) : decode_failure{};
}

command command_of(std::string_view frame) {
  auto r = decode_command(frame);
  if (auto* f = std::get_if<decode_failure>(&r)) {
    ADD_FAILURE() << frame << ": " << f->message;
    return {};
  }
  return std::get<command>(r);
}

// bad_args, and the message names `field`.
void expect_bad_args(std::string_view frame, std::string_view field) {
  auto f = failure_of(frame);
  EXPECT_EQ(f.error, agent_error::bad_args) << frame;
  EXPECT_NE(f.message.find(field), std::string::npos) << frame << " -> " << f.message;
  EXPECT_FALSE(f.id.empty()) << "bad_args keeps the command id: " << frame;
}

TEST(AgentFrames, DecodesPing) {
  auto c = command_of(R"({"c":"ping","id":"a1"})");
  EXPECT_EQ(c.kind, command_kind::ping);
  EXPECT_EQ(c.id, "a1");
}

TEST(AgentFrames, RejectsBadFramesWithReasons) {
  auto f = failure_of("not json");
  EXPECT_EQ(f.error, agent_error::bad_frame);
  EXPECT_NE(f.message.find("JSON"), std::string::npos);

  EXPECT_EQ(failure_of("[1,2]").error, agent_error::bad_frame);
  EXPECT_NE(failure_of(R"({"c":"ping"})").message.find("\"id\""), std::string::npos);
  EXPECT_EQ(failure_of(R"({"c":"ping","id":7})").error, agent_error::bad_frame);
  EXPECT_EQ(failure_of(R"({"c":"ping","id":""})").error, agent_error::bad_frame);
  EXPECT_EQ(failure_of(R"({"c":"ping","id":")" + std::string(65, 'x') + "\"}").error,
            agent_error::bad_frame);

  auto no_command = failure_of(R"({"id":"k"})");
  EXPECT_EQ(no_command.error, agent_error::bad_frame);
  EXPECT_EQ(no_command.id, "k");  // the id is echoed when usable
}

TEST(AgentFrames, UnknownCommandKeepsId) {
  auto f = failure_of(R"({"c":"fly","id":"z9"})");
  EXPECT_EQ(f.error, agent_error::unknown_command);
  EXPECT_EQ(f.id, "z9");
  EXPECT_NE(f.message.find("fly"), std::string::npos);
}

TEST(AgentFrames, RefusesUnknownArgumentsByName) {
  expect_bad_args(R"({"c":"send","id":"1","cv":"wa:+1","text":"hi"})", "\"text\"");
  expect_bad_args(R"({"c":"ping","id":"1","x":1})", "\"x\"");
}

TEST(AgentFrames, Auth) {
  EXPECT_EQ(command_of(R"({"c":"auth","id":"1","tok":"gwt_abc"})").token, "gwt_abc");
  expect_bad_args(R"({"c":"auth","id":"1"})", "tok");
  expect_bad_args(R"({"c":"auth","id":"1","tok":""})", "tok");
  expect_bad_args(R"({"c":"auth","id":"1","tok":5})", "tok");
  expect_bad_args(R"({"c":"auth","id":"1","tok":")" + std::string(257, 'a') + "\"}", "tok");
}

TEST(AgentFrames, SubscribeWithViewsTeamAndResumePosition) {
  auto c = command_of(
      R"({"c":"sub","id":"s","v":["new","mine","expired"],"tm":"front","from":{"ep":9007199254740993,"o":12}})");
  EXPECT_EQ(c.kind, command_kind::sub);
  EXPECT_EQ(c.views, (std::vector<view>{view::fresh, view::mine, view::expired}));
  EXPECT_EQ(c.team, "front");
  ASSERT_TRUE(c.from);
  EXPECT_EQ(*c.from, (position{9007199254740993ULL, 12}));  // above 2^53: kept exact

  auto plain = command_of(R"({"c":"sub","id":"s","v":["spam"]})");
  EXPECT_FALSE(plain.from);
  EXPECT_FALSE(plain.team);

  expect_bad_args(R"({"c":"sub","id":"s"})", "\"v\"");
  expect_bad_args(R"({"c":"sub","id":"s","v":[]})", "\"v\"");
  expect_bad_args(R"({"c":"sub","id":"s","v":"new"})", "\"v\"");
  expect_bad_args(R"({"c":"sub","id":"s","v":["new","new"]})", "twice");
  expect_bad_args(R"({"c":"sub","id":"s","v":["old"]})", "unknown view");
  expect_bad_args(R"({"c":"sub","id":"s","v":["new"],"from":{"ep":1}})", "from");
  expect_bad_args(R"({"c":"sub","id":"s","v":["new"],"from":{"ep":1,"o":-1}})", "from.o");
  expect_bad_args(R"({"c":"sub","id":"s","v":["new"],"from":{"ep":1.5,"o":1}})", "from.ep");
  expect_bad_args(R"({"c":"sub","id":"s","v":["new"],"from":{"ep":1,"o":1,"x":0}})", "from");
}

TEST(AgentFrames, UnsubscribeAndList) {
  EXPECT_EQ(command_of(R"({"c":"unsub","id":"u","v":["bot"]})").views,
            std::vector<view>{view::bot});

  auto l = command_of(R"({"c":"list","id":"l","v":"others","tm":"t1","cur":"abc","lim":100})");
  EXPECT_EQ(l.views, std::vector<view>{view::others});
  EXPECT_EQ(l.cursor, "abc");
  EXPECT_EQ(l.limit, 100u);
  EXPECT_EQ(command_of(R"({"c":"list","id":"l","v":"new"})").limit, default_page);

  expect_bad_args(R"({"c":"list","id":"l","v":["new"]})", "one view");
  expect_bad_args(R"({"c":"list","id":"l","v":"new","lim":0})", "lim");
  expect_bad_args(R"({"c":"list","id":"l","v":"new","lim":101})", "lim");
  expect_bad_args(R"({"c":"list","id":"l","v":"new","lim":"5"})", "lim");
}

TEST(AgentFrames, ConversationIdSplitsAtTheFirstColon) {
  auto h = command_of(R"({"c":"hist","id":"h","cv":"tw-1:whatsapp:+34600111222","lim":5})");
  EXPECT_EQ(h.channel, "tw-1");
  EXPECT_EQ(h.address, "whatsapp:+34600111222");
  EXPECT_EQ(h.cv(), "tw-1:whatsapp:+34600111222");
  EXPECT_EQ(h.limit, 5u);

  expect_bad_args(R"({"c":"hist","id":"h"})", "cv");
  expect_bad_args(R"({"c":"hist","id":"h","cv":"nocolon"})", "cv");
  expect_bad_args(R"({"c":"hist","id":"h","cv":":+1"})", "cv");
  expect_bad_args(R"({"c":"hist","id":"h","cv":"wa:"})", "cv");
  expect_bad_args(R"({"c":"hist","id":"h","cv":"wa:+1\n"})", "cv");
}

TEST(AgentFrames, RecentHours) {
  EXPECT_EQ(command_of(R"({"c":"recent","id":"r","h":24})").hours, 24u);
  expect_bad_args(R"({"c":"recent","id":"r","h":25})", "\"h\"");
  expect_bad_args(R"({"c":"recent","id":"r","h":0})", "\"h\"");
  expect_bad_args(R"({"c":"recent","id":"r"})", "\"h\"");
}

TEST(AgentFrames, SendAndNoteText) {
  auto s = command_of(R"({"c":"send","id":"k7","cv":"wa:+34600111222","tx":"Línea 1\nLínea 2"})");
  EXPECT_EQ(s.kind, command_kind::send);
  EXPECT_EQ(s.text, "Línea 1\nLínea 2");  // new lines are text, not control characters
  EXPECT_EQ(command_of(R"({"c":"note","id":"n","cv":"wa:+1","tx":"call back"})").kind,
            command_kind::note);

  // The limit counts characters, not bytes: 4096 two-byte characters pass.
  std::string many;
  for (int i = 0; i < 4096; ++i) many += "é";
  EXPECT_EQ(command_of(R"({"c":"send","id":"k","cv":"wa:+1","tx":")" + many + "\"}").text, many);
  expect_bad_args(R"({"c":"send","id":"k","cv":"wa:+1","tx":")" + many + "é\"}", "4097");
  expect_bad_args(R"({"c":"send","id":"k","cv":"wa:+1","tx":""})", "tx");
  expect_bad_args(R"({"c":"send","id":"k","cv":"wa:+1"})", "tx");
  expect_bad_args(R"({"c":"note","id":"k","cv":"wa:+1","tx":["a"]})", "tx");
}

TEST(AgentFrames, SendATemplate) {
  auto s = command_of(R"({"c":"send","id":"k","cv":"wa:+1",)"
                      R"("tpl":{"n":"recordatorio_cita","lang":"es","vars":["Ana","10:00"]}})");
  ASSERT_TRUE(s.tpl);
  EXPECT_EQ(s.tpl->name, "recordatorio_cita");
  EXPECT_EQ(s.tpl->language, "es");
  EXPECT_FALSE(s.tpl->named);
  ASSERT_EQ(s.tpl->vars.size(), 2u);
  EXPECT_EQ(s.tpl->vars[1].second, "10:00");
  EXPECT_EQ(s.text, "Ana\n10:00");  // what agents read
  auto free = command_of(R"({"c":"send","id":"k","cv":"wa:+1",)"
                         R"("tpl":{"n":"mensaje_libre","lang":"es","vars":{"motivo":"Hola"}}})");
  ASSERT_TRUE(free.tpl);
  EXPECT_TRUE(free.tpl->named);
  EXPECT_EQ(free.tpl->vars.at(0), (std::pair<std::string, std::string>{"motivo", "Hola"}));
  auto bare =
      command_of(R"({"c":"send","id":"k","cv":"wa:+1","tpl":{"n":"hello_world","lang":"en_US"}})");
  EXPECT_EQ(bare.text, "[hello_world]");
  // Round trip through the stored `x`.
  EXPECT_EQ(template_from_json(template_json(*s.tpl)), s.tpl);
  EXPECT_EQ(template_from_json(template_json(*free.tpl)), free.tpl);
  EXPECT_FALSE(template_from_json("{}"));
  EXPECT_FALSE(template_from_json(R"({"tpl":{"n":"a","lang":"es","vars":[1]}})"));

  expect_bad_args(R"({"c":"send","id":"k","cv":"wa:+1","tx":"a","tpl":{"n":"a","lang":"es"}})",
                  "not both");
  expect_bad_args(R"({"c":"send","id":"k","cv":"wa:+1","tpl":"a"})", "tpl");
  expect_bad_args(R"({"c":"send","id":"k","cv":"wa:+1","tpl":{"lang":"es"}})", "tpl.n");
  expect_bad_args(R"({"c":"send","id":"k","cv":"wa:+1","tpl":{"n":"a b","lang":"es"}})", "tpl.n");
  expect_bad_args(R"({"c":"send","id":"k","cv":"wa:+1","tpl":{"n":"a","lang":""}})", "tpl.lang");
  expect_bad_args(R"({"c":"send","id":"k","cv":"wa:+1","tpl":{"n":"a","lang":"es","x":1}})",
                  "tpl.x");
  expect_bad_args(R"({"c":"send","id":"k","cv":"wa:+1","tpl":{"n":"a","lang":"es","vars":[""]}})",
                  "tpl.vars[0]");
  expect_bad_args(R"({"c":"send","id":"k","cv":"wa:+1","tpl":{"n":"a","lang":"es","vars":3}})",
                  "tpl.vars");
  expect_bad_args(
      R"({"c":"send","id":"k","cv":"wa:+1","tpl":{"n":"a","lang":"es","vars":{"Bad Name":"x"}}})",
      "names must be");
  std::string many = R"({"c":"send","id":"k","cv":"wa:+1","tpl":{"n":"a","lang":"es","vars":[)";
  for (int i = 0; i < 21; ++i) many += std::string(i ? "," : "") + "\"v\"";
  expect_bad_args(many + "]}}", "at most 20");
  expect_bad_args(R"({"c":"note","id":"k","cv":"wa:+1","tx":"a","tpl":{"n":"a","lang":"es"}})",
                  "unknown argument \"tpl\"");
}

TEST(AgentFrames, AssignSetsOrClears) {
  auto a = command_of(R"({"c":"assign","id":"a","cv":"wa:+1","ag":"ana"})");
  EXPECT_EQ(a.assign_agent, "ana");
  EXPECT_FALSE(a.assign_team);

  auto clear = command_of(R"({"c":"assign","id":"a","cv":"wa:+1","ag":null,"tm":"billing"})");
  EXPECT_EQ(clear.assign_agent, "");  // null: unassign
  EXPECT_EQ(clear.assign_team, "billing");

  expect_bad_args(R"({"c":"assign","id":"a","cv":"wa:+1"})", "\"ag\"");
  expect_bad_args(R"({"c":"assign","id":"a","cv":"wa:+1","ag":""})", "\"ag\"");
  expect_bad_args(R"({"c":"assign","id":"a","cv":"wa:+1","tm":7})", "\"tm\"");
}

TEST(AgentFrames, StateCommands) {
  EXPECT_EQ(command_of(R"({"c":"close","id":"c","cv":"wa:+1"})").kind, command_kind::close);
  EXPECT_EQ(command_of(R"({"c":"reopen","id":"c","cv":"wa:+1"})").kind, command_kind::reopen);
  EXPECT_EQ(command_of(R"({"c":"mark","id":"m","cv":"wa:+1","st":"pending"})").state, "pending");
  EXPECT_EQ(command_of(R"({"c":"mark","id":"m","cv":"wa:+1","st":"resolved"})").state, "resolved");
  expect_bad_args(R"({"c":"mark","id":"m","cv":"wa:+1","st":"closed"})", "\"st\"");

  EXPECT_EQ(command_of(R"({"c":"read","id":"r","cv":"wa:+1","seq":42})").seq, 42u);
  EXPECT_FALSE(command_of(R"({"c":"read","id":"r","cv":"wa:+1"})").seq);
  expect_bad_args(R"({"c":"read","id":"r","cv":"wa:+1","seq":0})", "seq");
}

TEST(AgentFrames, EveryCommandAndViewHasItsWireName) {
  for (auto k : {command_kind::auth, command_kind::ping, command_kind::sub, command_kind::unsub,
                 command_kind::list, command_kind::hist, command_kind::recent, command_kind::send,
                 command_kind::note, command_kind::assign, command_kind::close,
                 command_kind::reopen, command_kind::mark, command_kind::read}) {
    // A bare frame with the name decodes to the same kind (or fails on its arguments).
    auto r = decode_command(R"({"c":")" + std::string(name_of(k)) + R"(","id":"x"})");
    if (auto* c = std::get_if<command>(&r))
      EXPECT_EQ(c->kind, k);
    else
      EXPECT_EQ(std::get<decode_failure>(r).error, agent_error::bad_args) << name_of(k);
  }
  EXPECT_EQ(name_of(view::fresh), "new");
  EXPECT_EQ(name_of(view::spam), "spam");
}

TEST(AgentFrames, EncodesReplies) {
  auto pong = json::parse(encode_pong("q\"1")).as_object();
  EXPECT_EQ(pong.at("t").as_string(), "pong");
  EXPECT_EQ(pong.at("id").as_string(), "q\"1");

  auto err =
      json::parse(encode_error("i", agent_error::rate_limited, "m", {{"ra", 250}})).as_object();
  EXPECT_EQ(err.at("t").as_string(), "err");
  EXPECT_EQ(err.at("code").as_string(), "rate_limited");
  EXPECT_EQ(err.at("msg").as_string(), "m");
  EXPECT_EQ(err.at("ra").as_int64(), 250);
  EXPECT_FALSE(
      json::parse(encode_error("", agent_error::bad_frame, "m")).as_object().contains("id"));

  auto ok = encode_ok("k7", {{"o", 5}});
  auto okj = json::parse(ok).as_object();
  EXPECT_EQ(okj.at("t").as_string(), "ok");
  EXPECT_EQ(okj.at("o").as_int64(), 5);
  EXPECT_FALSE(okj.contains("dup"));
  auto dup = json::parse(mark_duplicate(ok)).as_object();
  EXPECT_EQ(dup.at("dup").as_bool(), true);
  EXPECT_EQ(dup.at("id").as_string(), "k7");
}

TEST(AgentFrames, EncodesHelloResyncAndEvents) {
  auto h = json::parse(encode_hello({"ana", "clinic-1", "agent", {77, 10234}, {}})).as_object();
  EXPECT_EQ(h.at("t").as_string(), "hello");
  EXPECT_EQ(h.at("ag").as_string(), "ana");
  EXPECT_EQ(h.at("ep").as_int64(), 77);
  EXPECT_EQ(h.at("o").as_int64(), 10234);
  EXPECT_EQ(h.at("lim").at("text").as_int64(), 4096);

  auto r = json::parse(encode_resync("s2", resync_reason::gone, {77, 10412})).as_object();
  EXPECT_EQ(r.at("why").as_string(), "gone");
  EXPECT_EQ(r.at("id").as_string(), "s2");

  message_view m{"m-1", "wa",  "+34600111222", 41,       1763800360000,           "out", "text",
                 "ok",  "ana", "failed",       "131047", "Re-engagement message", ""};
  auto ev = json::parse(encode_message_event({77, 10235}, m)).as_object();
  EXPECT_EQ(ev.at("k").as_string(), "msg");
  EXPECT_EQ(ev.at("cv").as_string(), "wa:+34600111222");
  EXPECT_EQ(ev.at("m").at("d").as_string(), "out");
  EXPECT_EQ(ev.at("m").at("err").at("code").as_string(), "131047");
  EXPECT_FALSE(ev.at("m").as_object().contains("x"));

  auto st = json::parse(encode_status_event({77, 10236}, m)).as_object();
  EXPECT_EQ(st.at("k").as_string(), "msg.st");
  EXPECT_EQ(st.at("mid").as_string(), "m-1");
  EXPECT_EQ(st.at("st").as_string(), "failed");

  message_view in{
      "m-2", "wa", "+1", 1, 1, "in", "location", "", "María", "", "", "", R"({"latitude":40.4})"};
  auto inj = to_json(in);
  EXPECT_TRUE(inj.at("st").is_null());
  EXPECT_EQ(inj.at("x").at("latitude").as_double(), 40.4);

  conversation_view c{"wa", "+1", "María", "open", "", "front", 5, 6, 3, 1};
  auto cj = json::parse(encode_conversation_event({77, 10237}, c)).as_object();
  EXPECT_TRUE(cj.at("c").at("as").is_null());
  EXPECT_EQ(cj.at("c").at("tm").as_string(), "front");
  EXPECT_EQ(cj.at("c").at("unr").as_int64(), 1);
}

}  // namespace
}  // namespace gw::protocol
