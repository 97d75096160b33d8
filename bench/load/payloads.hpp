// Realistic provider payloads for benchmarks: a WhatsApp Cloud API text
// message webhook of about 1 KB, shaped like Meta's documented example
// (envelope, metadata, contact profile, one message with a context reply),
// and the parameters of a Twilio inbound SMS webhook.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gw::bench {

// The patient's words in both payloads (~330 bytes of UTF-8).
inline constexpr std::string_view patient_text =
    "Buenos días, tengo cita mañana a las 10:30 con la doctora Ruiz para la revisión de la "
    "rodilla. ¿Podría cambiarla al jueves por la tarde? Si no es posible, me vale el viernes a "
    "primera hora. Llevaré los resultados de la resonancia magnética y el informe del "
    "fisioterapeuta que me pidieron en la última visita. Gracias y perdonen las molestias.";

// `from` is the patient's WhatsApp id (digits), `wamid_suffix` makes the
// message id unique; `sent_s` is Meta's `timestamp` (Unix seconds: the
// patient's 24-hour window runs from it); `text_suffix` is appended to the
// text (a send time).
inline std::string whatsapp_text_webhook(std::string_view phone_number_id, std::string_view from,
                                         std::string_view wamid_suffix, std::int64_t sent_s,
                                         std::string_view text_suffix = {}) {
  std::string body;
  body.reserve(1100);
  body +=
      R"({"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":")";
  body += phone_number_id;
  body += R"("},"contacts":[{"profile":{"name":"María José Fernández"},"wa_id":")";
  body += from;
  body +=
      R"("}],"messages":[{"context":{"from":"15550783881","id":"wamid.HBgLMTY0NjcwNDM1OTUVAgARGBI1QjJGRjI0RjU2QjY3QzE1MDAA"},"from":")";
  body += from;
  body += R"(","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA)";
  body += wamid_suffix;
  body += R"(","timestamp":")";
  body += std::to_string(sent_s);
  body += R"(","type":"text","text":{"body":")";
  body += patient_text;
  body += text_suffix;
  body += R"("}}]},"field":"messages"}]}]})";
  return body;
}

// A Twilio inbound SMS webhook's parameters, as Twilio posts them (before
// form encoding; the signature covers them decoded). `sid` is the 32 hex
// digits after "SM".
inline std::vector<std::pair<std::string, std::string>> twilio_sms_params(
    std::string_view to, std::string_view from, std::string_view sid,
    std::string_view text_suffix) {
  std::string message_sid = "SM" + std::string(sid);
  std::string body(patient_text);
  body += text_suffix;
  return {{"ToCountry", "US"},
          {"ToState", "CA"},
          {"SmsMessageSid", message_sid},
          {"NumMedia", "0"},
          {"ToCity", ""},
          {"FromZip", ""},
          {"SmsSid", message_sid},
          {"FromState", ""},
          {"SmsStatus", "received"},
          {"FromCity", ""},
          {"Body", body},
          {"FromCountry", "ES"},
          {"To", std::string(to)},
          {"ToZip", ""},
          {"NumSegments", "3"},
          {"MessageSid", message_sid},
          {"AccountSid", "AC00000000000000000000000000000000"},
          {"From", std::string(from)},
          {"ApiVersion", "2010-04-01"}};
}

}  // namespace gw::bench
