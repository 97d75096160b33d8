#include "gateway/config/config.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "gateway/config/channels.hpp"

#include <sched.h>
#include <unistd.h>
#include <cstdio>
#include <fstream>

#include "gateway/config/settings.hpp"

namespace gw {
namespace {

struct file {
  explicit file(const std::string& text) {
    char tmpl[] = "/tmp/gwcfg-XXXXXX";
    int fd = mkstemp(tmpl);
    path = tmpl;
    std::ofstream(path) << text;
    ::close(fd);
  }
  ~file() { std::remove(path.c_str()); }
  std::string path;
};

std::string error_of(const std::string& json, std::vector<std::string> env = {},
                     flag_settings flags = {}) {
  file f(json);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  try {
    load_config(f.path, envp.data(), flags);
  } catch (const config_error& e) {
    return e.what();
  }
  return "";
}

// Retention shorter than Meta's 7 days of webhook retries is refused.
TEST(Config, IdRetentionCoversTheProvidersRetries) {
  EXPECT_NE(error_of(R"({"history":{"ids_kept_days":7}})").find("history.ids_kept_days"),
            std::string::npos);
  file f(R"({"history":{"ids_kept_days":45}})");
  char* env[] = {nullptr};
  EXPECT_EQ(load_config(f.path, env, {}).ids_kept_days, 45u);
  EXPECT_EQ(load_config("", env, {}).ids_kept_days, 30u);
}

TEST(Config, DefaultsWithoutFile) {
  char* env[] = {nullptr};
  auto c = load_config("", env, {});
  EXPECT_EQ(c.listen_host, "127.0.0.1");
  EXPECT_EQ(c.listen_port, 8080);
  EXPECT_EQ(c.http.max_body_bytes, 1024u * 1024u);
  EXPECT_FALSE(c.tls.enabled());
  EXPECT_GE(c.effective_threads(), 1u);
}

// threads = 0 counts the CPUs the process may run on, not the machine's:
// under a cpuset or taskset of one CPU, one shard.
TEST(Config, ZeroThreadsCountsTheCpusThisProcessMayUse) {
  config c;
  cpu_set_t all;
  ASSERT_EQ(sched_getaffinity(0, sizeof all, &all), 0);
  EXPECT_EQ(c.effective_threads(), static_cast<unsigned>(CPU_COUNT(&all)));
  int first = 0;
  while (!CPU_ISSET(first, &all)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);  // this thread only
  const unsigned narrowed = c.effective_threads();
  ASSERT_EQ(sched_setaffinity(0, sizeof all, &all), 0);
  EXPECT_EQ(narrowed, 1u);
  c.threads = 3;
  EXPECT_EQ(c.effective_threads(), 3u);
}

TEST(Config, FileEnvironmentAndFlagsInOrder) {
  file f(R"({"listen":"0.0.0.0:9000","threads":3,"http":{"max_body_bytes":2048},
             "log":{"level":"debug"}})");
  std::string e1 = "GATEWAY_THREADS=5", e2 = "GATEWAY_WS_MAX_FRAME_BYTES=4096", e3 = "OTHER=1";
  char* env[] = {e1.data(), e2.data(), e3.data(), nullptr};
  auto c = load_config(f.path, env, {{"threads", "7"}, {"listen", "[::1]:0"}});
  EXPECT_EQ(c.listen_host, "::1");
  EXPECT_EQ(c.listen_port, 0);
  EXPECT_EQ(c.threads, 7u);                 // flag beats environment beats file
  EXPECT_EQ(c.ws.max_frame_bytes, 4096u);   // environment
  EXPECT_EQ(c.http.max_body_bytes, 2048u);  // file
  EXPECT_EQ(c.log_level, log::level::debug);
}

TEST(Config, UnknownKeysAreErrorsNamingTheKey) {
  EXPECT_NE(error_of(R"({"http":{"max_bdy_bytes":1}})").find("http.max_bdy_bytes"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"thread":1})").find("thread (config file"), std::string::npos);
  EXPECT_NE(error_of("{}", {"GATEWAY_THREDS=2"}).find("GATEWAY_THREDS"), std::string::npos);
  EXPECT_NE(error_of(R"({"nope":{"x":1}})").find("nope"), std::string::npos);
}

TEST(Config, BadValuesAreErrorsNamingTheProblem) {
  auto e = error_of(R"({"threads":-1})");
  EXPECT_EQ(e.substr(0, 26), "threads (config file /tmp/") << e;
  EXPECT_NE(e.find("): -1 is below the minimum 0"), std::string::npos) << e;
  e = error_of(R"({"http":{"max_body_bytes":0}})");
  EXPECT_NE(e.find("http.max_body_bytes"), std::string::npos) << e;
  EXPECT_NE(e.find("below the minimum 1"), std::string::npos) << e;
  e = error_of(R"({"threads":"four"})");
  EXPECT_NE(e.find("expected an integer, got a string"), std::string::npos) << e;
  e = error_of(R"({"threads":1000})");
  EXPECT_NE(e.find("above the maximum 256"), std::string::npos) << e;
  e = error_of(R"({"log":{"level":"loud"}})");
  EXPECT_NE(e.find("expected one of debug|info|warn|error"), std::string::npos) << e;
  e = error_of(R"({"listen":"localhost"})");
  EXPECT_NE(e.find("HOST:PORT"), std::string::npos) << e;
  e = error_of(R"({"listen":"1.2.3.4:70000"})");
  EXPECT_NE(e.find("port must be"), std::string::npos) << e;
  e = error_of("{}", {"GATEWAY_HTTP_MAX_BODY_BYTES=12x"});
  EXPECT_NE(e.find("http.max_body_bytes (environment GATEWAY_HTTP_MAX_BODY_BYTES)"),
            std::string::npos)
      << e;
  e = error_of("{}", {}, {{"threads", "-3"}});
  EXPECT_NE(e.find("threads (flag)"), std::string::npos) << e;
  e = error_of(R"({"http":{"max_body_bytes":1.5}})");
  EXPECT_NE(e.find("number with a fraction"), std::string::npos) << e;
}

TEST(Config, MalformedFileAndTlsPairing) {
  EXPECT_NE(error_of("{not json").find("not valid JSON"), std::string::npos);
  EXPECT_NE(error_of("[]").find("must be a JSON object"), std::string::npos);
  EXPECT_NE(error_of(R"({"tls":{"cert_file":"/etc/hostname"}})").find("set together"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"tls":{"cert_file":"/nonexistent/c","key_file":"/nonexistent/k"}})")
                .find("cannot read"),
            std::string::npos);
  char* env[] = {nullptr};
  EXPECT_THROW(load_config("/nonexistent/gateway.json", env, {}), config_error);
}

TEST(Settings, TableIsConsistent) {
  for (const auto& s : settings()) {
    EXPECT_EQ(find_setting(s.name), &s);
    if (s.type == setting_type::integer) {
      EXPECT_NE(s.set_int, nullptr) << s.name;
      EXPECT_LE(s.min, s.max) << s.name;
      // The documented default must itself be valid.
      config c;
      EXPECT_EQ(apply_text(s, c, s.default_text), "") << s.name;
    } else {
      EXPECT_NE(s.set_str, nullptr) << s.name;
    }
  }
  EXPECT_EQ(env_name("http.max_body_bytes"), "GATEWAY_HTTP_MAX_BODY_BYTES");
  EXPECT_NE(describe_settings().find("ws.max_outbound_bytes"), std::string::npos);
}

TEST(Config, ChannelsAreCheckedFieldByField) {
  const std::string wa =
      R"({"id":"wa-main","provider":"whatsapp","tenant":"clinic-1","phone_number_id":"1065",)"
      R"("app_secret":"s","verify_token":"v"})";
  const std::string sms =
      R"({"id":"sms","provider":"twilio","tenant":"clinic-1","number":"+15550001111",)"
      R"("auth_token":"t","account_sid":"AC1"})";
  file f(R"({"channels":[)" + wa + "," + sms +
         R"(],"webhooks":{"public_base_url":"https://gw.example.com/"}})");
  char* none[] = {nullptr};
  auto c = load_config(f.path, none, {});
  ASSERT_EQ(c.channels.size(), 2u);
  EXPECT_EQ(c.channels[0].provider, provider_kind::whatsapp);
  EXPECT_EQ(c.channels[0].phone_number_id, "1065");
  EXPECT_EQ(c.channels[1].provider, provider_kind::twilio);
  EXPECT_EQ(c.channels[1].account_sid, "AC1");
  EXPECT_EQ(c.webhooks.public_base_url, "https://gw.example.com");  // trailing '/' dropped

  auto refused = [](const std::string& channels) {
    return error_of(R"({"channels":)" + channels + "}");
  };
  auto starts = [](const std::string& error, const std::string& prefix) {
    return error.starts_with(prefix) ? ::testing::AssertionSuccess()
                                     : ::testing::AssertionFailure() << error;
  };
  EXPECT_TRUE(starts(refused("{}"), "channels (config file"));
  EXPECT_TRUE(starts(refused(R"([{"id":"x","provider":"sms"}])"), "channels[0].provider"));
  EXPECT_TRUE(starts(refused("[" + wa + R"(,{"id":"y","provider":"whatsapp","tenant":"t"}])"),
                     "channels[1].phone_number_id"));
  auto typo = wa;
  typo.insert(1, R"("app_secert":"s",)");
  EXPECT_TRUE(starts(refused("[" + typo + "]"), "channels[0].app_secert"));
  EXPECT_NE(refused("[" + typo + "]").find("unknown field"), std::string::npos);
  EXPECT_NE(refused("[" + wa + "," + wa + "]").find("declared twice"), std::string::npos);
  auto bad_number = sms;
  bad_number.replace(bad_number.find("+15550001111"), 12, "5550001111");
  EXPECT_TRUE(starts(refused("[" + bad_number + "]"), "channels[0].number"));
  auto bad_id = sms;
  bad_id.replace(bad_id.find("\"sms\""), 5, "\"a/b\"");
  EXPECT_TRUE(starts(refused("[" + bad_id + "]"), "channels[0].id"));
  EXPECT_TRUE(starts(error_of(R"({"webhooks":{"public_base_url":"gw.example.com"}})"),
                     "webhooks.public_base_url"));
  EXPECT_TRUE(starts(error_of(R"({"webhooks":{"public_base_url":"https://gw/x"}})"),
                     "webhooks.public_base_url"));
}

TEST(Config, ChannelSendingFields) {
  const std::string wa =
      R"({"id":"wa","provider":"whatsapp","tenant":"c","phone_number_id":"1065","app_secret":"s",)"
      R"("verify_token":"v","access_token":"EAAG","api_base_url":"http://127.0.0.1:9400",)"
      R"("api_version":"v20.0","messages_per_second":250,"pair_interval_ms":3000,"pair_burst":4,)"
      R"("templates":["recordatorio_cita:es","mensaje_libre:es_ES"]})";
  file f(R"({"channels":[)" + wa + "]}");
  char* none[] = {nullptr};
  auto c = load_config(f.path, none, {});
  const auto& ch = c.channels.at(0);
  EXPECT_EQ(ch.access_token, "EAAG");
  EXPECT_EQ(ch.api_base_url, "http://127.0.0.1:9400");
  EXPECT_EQ(ch.api_version, "v20.0");
  EXPECT_EQ(ch.messages_per_second, 250u);
  EXPECT_EQ(ch.pair_interval_ms, 3000u);
  EXPECT_EQ(ch.pair_burst, 4u);
  EXPECT_EQ(ch.templates,
            (std::vector<std::string>{"recordatorio_cita:es", "mensaje_libre:es_ES"}));

  // What the journal keeps (everything) and what the API shows (secrets named).
  boost::json::object all, shown;
  write_channel(ch, all, true);
  write_channel(ch, shown, false);
  channel_config back;
  EXPECT_FALSE(read_channel(all, back));
  EXPECT_EQ(back, ch);
  EXPECT_FALSE(shown.contains("access_token"));
  EXPECT_FALSE(shown.contains("app_secret"));
  EXPECT_EQ(shown.at("secrets"),
            (boost::json::array{"app_secret", "verify_token", "access_token"}));
  EXPECT_EQ(shown.at("messages_per_second"), 250);

  auto error = [&](std::string_view from, std::string_view to) {
    auto bad = wa;
    bad.replace(bad.find(from), from.size(), to);
    return error_of(R"({"channels":[)" + bad + "]}");
  };
  EXPECT_TRUE(error(R"("messages_per_second":250)", R"("messages_per_second":0)")
                  .starts_with("channels[0].messages_per_second"));
  EXPECT_TRUE(
      error(R"("pair_burst":4)", R"("pair_burst":"4")").starts_with("channels[0].pair_burst"));
  EXPECT_TRUE(
      error("http://127.0.0.1:9400", "127.0.0.1:9400").starts_with("channels[0].api_base_url"));
  EXPECT_TRUE(
      error("recordatorio_cita:es", "recordatorio cita").starts_with("channels[0].templates"));
  EXPECT_TRUE(error("\"mensaje_libre:es_ES\"", "3").starts_with("channels[0].templates"));
  auto sms_field = error(R"("pair_burst":4)", R"("max_segments":3)");
  EXPECT_TRUE(sms_field.starts_with("channels[0].max_segments")) << sms_field;
  EXPECT_TRUE(error(R"("pair_burst":4)", R"("cost_per_message":2000000)")
                  .starts_with("channels[0].cost_per_message"));
  auto twilio_field = error(R"("pair_burst":4)", R"("account_sid":"AC1")");
  EXPECT_TRUE(twilio_field.starts_with("channels[0].account_sid")) << twilio_field;
  EXPECT_NE(twilio_field.find("not a field of a whatsapp channel"), std::string::npos);
}

TEST(Config, AgentsAreCheckedFieldByField) {
  const std::string channel =
      R"({"id":"wa-main","provider":"whatsapp","tenant":"clinic-1","phone_number_id":"1065",)"
      R"("app_secret":"s","verify_token":"v"})";
  // Agents may come before the channels they name.
  file f(R"({"agents":[{"tenant":"clinic-1","id":"ana","role":"admin","token":"0123456789abcdef",)"
         R"("channels":["wa-main"]},{"tenant":"clinic-2","id":"bo","token":"fedcba9876543210"}],)"
         R"("channels":[)" +
         channel + "]}");
  char* none[] = {nullptr};
  auto c = load_config(f.path, none, {});
  ASSERT_EQ(c.agents.size(), 2u);
  EXPECT_EQ(c.agents[0].role, "admin");
  EXPECT_EQ(c.agents[0].channels, std::vector<std::string>{"wa-main"});
  EXPECT_EQ(c.agents[1].role, "agent");  // the default
  EXPECT_EQ(c.agents[1].name, "bo");     // defaults to the id

  auto refused = [&](const std::string& agents) {
    return error_of(R"({"channels":[)" + channel + R"(],"agents":)" + agents + "}");
  };
  auto starts = [](const std::string& error, const std::string& prefix) {
    return error.starts_with(prefix) ? ::testing::AssertionSuccess()
                                     : ::testing::AssertionFailure() << error;
  };
  const std::string ok = R"("tenant":"clinic-1","id":"ana","token":"0123456789abcdef")";
  EXPECT_TRUE(starts(refused("{}"), "agents (config file"));
  EXPECT_TRUE(starts(refused(R"([{"tenant":"clinic-1","id":"ana"}])"), "agents[0].token"));
  EXPECT_TRUE(
      starts(refused(R"([{"tenant":"clinic-1","id":"ana","token":"short"}])"), "agents[0].token"));
  EXPECT_TRUE(starts(refused("[{" + ok + R"(,"role":"boss"}])"), "agents[0].role"));
  EXPECT_TRUE(starts(refused("[{" + ok + R"(,"rol":"admin"}])"), "agents[0].rol"));
  EXPECT_TRUE(starts(refused(R"([{"id":"ana","token":"0123456789abcdef"}])"), "agents[0].tenant"));
  EXPECT_NE(refused("[{" + ok + "},{" + ok + "}]").find("token"), std::string::npos);
  EXPECT_TRUE(starts(
      refused(
          R"([{"tenant":"clinic-2","id":"x","token":"0123456789abcdef","channels":["wa-main"]}])"),
      "agents[0].channels"));
}

}  // namespace
}  // namespace gw
