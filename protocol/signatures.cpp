// HMAC signatures over OpenSSL's one-shot HMAC and SHA-256.
#include "protocol/signatures.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>

namespace gw::protocol {

namespace {

std::string to_hex(const unsigned char* p, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(n * 2, '\0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 0xF];
  }
  return out;
}

std::string base64(const unsigned char* p, std::size_t n) {
  std::string out(4 * ((n + 2) / 3), '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), p, static_cast<int>(n));
  out.resize(static_cast<std::size_t>(len));
  return out;
}

std::pair<std::array<unsigned char, EVP_MAX_MD_SIZE>, unsigned> hmac(const EVP_MD* md,
                                                                     std::string_view key,
                                                                     std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned len = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  return {out, len};
}

// The URL with its default port toggled: "https://h/p" <-> "https://h:443/p".
std::string toggle_default_port(std::string_view url) {
  std::string_view scheme, port;
  if (url.starts_with("https://"))
    scheme = "https://", port = ":443";
  else if (url.starts_with("http://"))
    scheme = "http://", port = ":80";
  else
    return std::string(url);
  auto rest = url.substr(scheme.size());
  auto path_at = rest.find_first_of("/?");
  auto authority = rest.substr(0, path_at);
  auto tail = path_at == std::string_view::npos ? std::string_view{} : rest.substr(path_at);
  std::string out(scheme);
  if (authority.ends_with(port)) {
    out += authority.substr(0, authority.size() - port.size());
  } else if (authority.find(':') == std::string_view::npos ||
             (authority.front() == '[' && authority.back() == ']')) {
    out += authority;
    out += port;
  } else {
    return std::string(url);  // a non-default port: only one form
  }
  out += tail;
  return out;
}

}  // namespace

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < b.size(); ++i)
    diff |= static_cast<unsigned char>(b[i] ^ (i < a.size() ? a[i] : 0));
  return diff == 0;
}

std::string hex_sha256(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return to_hex(digest, sizeof digest);
}

std::string meta_signature(std::string_view app_secret, std::string_view body) {
  auto [mac, len] = hmac(EVP_sha256(), app_secret, body);
  return "sha256=" + to_hex(mac.data(), len);
}

bool verify_meta_signature(std::string_view header, std::string_view app_secret,
                           std::string_view body) {
  return constant_time_equal(header, meta_signature(app_secret, body));
}

std::string twilio_signature(std::string_view auth_token, std::string_view url,
                             const form_params& params) {
  std::vector<const std::pair<std::string, std::string>*> sorted;
  for (const auto& p : params) sorted.push_back(&p);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](auto* a, auto* b) { return a->first < b->first; });
  std::string data(url);
  for (auto* p : sorted) {
    data += p->first;
    data += p->second;
  }
  auto [mac, len] = hmac(EVP_sha1(), auth_token, data);
  return base64(mac.data(), len);
}

bool verify_twilio_signature(std::string_view header, std::string_view auth_token,
                             std::string_view url, const form_params& params) {
  if (constant_time_equal(header, twilio_signature(auth_token, url, params))) return true;
  auto other = toggle_default_port(url);
  return other != url && constant_time_equal(header, twilio_signature(auth_token, other, params));
}

bool verify_twilio_body_signature(std::string_view header, std::string_view auth_token,
                                  std::string_view url, std::string_view body) {
  auto q = url.find("bodySHA256=");
  if (q == std::string_view::npos) return false;
  auto value = url.substr(q + 11);
  value = value.substr(0, value.find('&'));
  if (!constant_time_equal(value, hex_sha256(body))) return false;
  return verify_twilio_signature(header, auth_token, url, {});
}

}  // namespace gw::protocol
