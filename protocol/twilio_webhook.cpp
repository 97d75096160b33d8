// Form decoding and the Twilio inbound/status shapes.
#include "protocol/twilio_webhook.hpp"

#include <charconv>

namespace gw::protocol {

namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> decode_component(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::string get(const form_params& p, std::string_view name) {
  for (const auto& [k, v] : p)
    if (k == name) return v;
  return {};
}

// The current parameter name, or the legacy one Twilio still sends for SMS.
std::string get(const form_params& p, std::string_view name, std::string_view legacy) {
  auto v = get(p, name);
  return v.empty() ? get(p, legacy) : v;
}

void encode_component(std::string& out, std::string_view s) {
  constexpr char hex[] = "0123456789ABCDEF";
  for (unsigned char c : s) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xF];
    }
  }
}

constexpr std::string_view not_a_form = "body is not valid application/x-www-form-urlencoded";

}  // namespace

std::string encode_form(const form_params& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    encode_component(out, name);
    out += '=';
    encode_component(out, value);
  }
  return out;
}

std::optional<form_params> parse_form(std::string_view body) {
  form_params out;
  while (!body.empty()) {
    auto amp = body.find('&');
    auto pair = body.substr(0, amp);
    if (!pair.empty()) {
      auto eq = pair.find('=');
      auto name = decode_component(pair.substr(0, eq));
      auto value =
          decode_component(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
      if (!name || !value) return std::nullopt;
      out.emplace_back(std::move(*name), std::move(*value));
    }
    if (amp == std::string_view::npos) break;
    body.remove_prefix(amp + 1);
  }
  return out;
}

std::variant<twilio_inbound, webhook_error> parse_twilio_inbound(std::string_view body) {
  auto form = parse_form(body);
  if (!form) return webhook_error{std::string(not_a_form)};
  return parse_twilio_inbound(std::move(*form));
}

std::variant<twilio_status, webhook_error> parse_twilio_status(std::string_view body) {
  auto form = parse_form(body);
  if (!form) return webhook_error{std::string(not_a_form)};
  return parse_twilio_status(std::move(*form));
}

std::variant<twilio_inbound, webhook_error> parse_twilio_inbound(form_params params) {
  twilio_inbound in;
  in.message_sid = get(params, "MessageSid", "SmsMessageSid");
  in.account_sid = get(params, "AccountSid");
  in.from = get(params, "From");
  in.to = get(params, "To");
  in.body = get(params, "Body");
  if (in.message_sid.empty() || in.from.empty() || in.to.empty())
    return webhook_error{"MessageSid, From and To are required"};
  auto num_media = get(params, "NumMedia");
  unsigned n = 0;
  if (!num_media.empty()) {
    auto [end, ec] = std::from_chars(num_media.data(), num_media.data() + num_media.size(), n);
    if (ec != std::errc{} || end != num_media.data() + num_media.size() || n > 10)
      return webhook_error{"NumMedia must be a number from 0 to 10"};
  }
  for (unsigned i = 0; i < n; ++i) {
    twilio_media m{get(params, "MediaUrl" + std::to_string(i)),
                   get(params, "MediaContentType" + std::to_string(i))};
    if (m.url.empty()) return webhook_error{"MediaUrl" + std::to_string(i) + " is missing"};
    in.media.push_back(std::move(m));
  }
  in.params = std::move(params);
  return in;
}

std::variant<twilio_status, webhook_error> parse_twilio_status(form_params params) {
  twilio_status st;
  st.message_sid = get(params, "MessageSid", "SmsSid");
  st.status = get(params, "MessageStatus", "SmsStatus");
  if (st.message_sid.empty() || st.status.empty())
    return webhook_error{"MessageSid and MessageStatus are required"};
  st.error_code = get(params, "ErrorCode");
  st.error_message = get(params, "ErrorMessage");
  st.from = get(params, "From");
  st.to = get(params, "To");
  st.params = std::move(params);
  return st;
}

}  // namespace gw::protocol
