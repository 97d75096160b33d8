// Webhook signatures: Meta's X-Hub-Signature-256 and Twilio's
// X-Twilio-Signature, computed and verified without I/O. Comparisons are
// constant-time in the length of the expected signature.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gw::protocol {

using form_params = std::vector<std::pair<std::string, std::string>>;

bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

// "sha256=" + lowercase hex HMAC-SHA256(app_secret, body); "" if OpenSSL
// fails (verification then fails too).
std::string meta_signature(std::string_view app_secret, std::string_view body);
// `header` is the X-Hub-Signature-256 value as received.
bool verify_meta_signature(std::string_view header, std::string_view app_secret,
                           std::string_view body);

// Base64 HMAC-SHA1(auth_token, url + every POST parameter sorted by name,
// each name immediately followed by its value). A name sent more than once
// appears once per value, its values sorted too, as Twilio's validators
// sign them (their published example: Digits=5678&Digits=1234 is signed as
// Digits1234Digits5678).
std::string twilio_signature(std::string_view auth_token, std::string_view url,
                             const form_params& params);
// Accepts the URL as given and with its default port added or removed
// (Twilio signs whichever form it was configured with, as its own
// validators accept). A name=value pair sent twice is also accepted signed
// once (the Node validator drops such repeats; the Python one keeps them).
bool verify_twilio_signature(std::string_view header, std::string_view auth_token,
                             std::string_view url, const form_params& params);
// The value of the URL's bodySHA256 query parameter, if it has one.
std::optional<std::string_view> twilio_body_hash(std::string_view url);
// The JSON-body variant: the URL carries bodySHA256=<hex SHA-256 of body>;
// the signature covers the URL alone, and the hash must match the body.
bool verify_twilio_body_signature(std::string_view header, std::string_view auth_token,
                                  std::string_view url, std::string_view body);

std::string hex_sha256(std::string_view data);
// Standard Base64 with padding (RFC 4648 section 4).
std::string base64(std::string_view data);

}  // namespace gw::protocol
