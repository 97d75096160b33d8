// A patient writes: one WhatsApp Cloud API webhook with one text message,
// signed with the app secret as Meta signs it, posted to the gateway.
// Integration tests only (needs the protocol library for the signature).
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <string>
#include <string_view>

#include "protocol/signatures.hpp"
#include "tests/support/clients.hpp"

namespace gw::test {

// Meta's `timestamp` for a message sent now: Unix seconds, as a string. A
// patient's 24-hour window runs from it, so a test's patient writes now.
inline std::string whatsapp_now() {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
}

inline http_response post_whatsapp_text(std::uint16_t port, std::string_view channel,
                                        std::string_view phone_number_id,
                                        std::string_view app_secret, std::string_view from,
                                        std::string_view wamid, std::string_view text) {
  namespace json = boost::json;
  json::object msg{{"from", from},
                   {"id", wamid},
                   {"timestamp", whatsapp_now()},
                   {"type", "text"},
                   {"text", {{"body", text}}}};
  json::object value{
      {"messaging_product", "whatsapp"},
      {"metadata", {{"display_phone_number", "1555"}, {"phone_number_id", phone_number_id}}},
      {"messages", json::array{msg}}};
  json::object change{{"field", "messages"}, {"value", value}};
  auto body = json::serialize(json::object{
      {"object", "whatsapp_business_account"},
      {"entry", json::array{json::object{{"id", "1"}, {"changes", json::array{change}}}}}});
  return http_post(port, "/webhooks/whatsapp/" + std::string(channel), body, "application/json",
                   {{"X-Hub-Signature-256", protocol::meta_signature(app_secret, body)}});
}

}  // namespace gw::test
