// HMAC signatures (OpenSSL EVP_MAC) and SHA-256.
#include "protocol/signatures.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <vector>

namespace gw::protocol {

namespace {

// Lower-case hex of p[0, n) into out[0, 2n).
void hex_into(const unsigned char* p, std::size_t n, char* out) {
  static constexpr char digits[] = "0123456789abcdef";
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 0xF];
  }
}

std::string to_hex(const unsigned char* p, std::size_t n) {
  std::string out(n * 2, '\0');
  hex_into(p, n, out.data());
  return out;
}

// OpenSSL 3's one-shot HMAC() looks the algorithm up by name on every call
// (a method-store search under a lock), which costs more than hashing a 1 KB
// webhook. Each thread keeps one keyed context per (digest, key) — there is
// one key per channel — and re-initialises it for each message.
class mac_contexts {
 public:
  mac_contexts() = default;
  mac_contexts(const mac_contexts&) = delete;
  mac_contexts& operator=(const mac_contexts&) = delete;
  ~mac_contexts() { clear(); }

  EVP_MAC_CTX* get(const char* digest, std::string_view key) {
    for (auto& e : entries_)
      if (e.digest == digest && e.key == key) {
        if (EVP_MAC_init(e.ctx, nullptr, 0, nullptr) != 1) return nullptr;
        return e.ctx;
      }
    if (entries_.size() >= max_entries) clear();  // more keys than channels: start over
    static EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    EVP_MAC_CTX* ctx = hmac ? EVP_MAC_CTX_new(hmac) : nullptr;
    if (!ctx) return nullptr;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", const_cast<char*>(digest), 0),
                           OSSL_PARAM_construct_end()};
    if (EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) !=
        1) {
      EVP_MAC_CTX_free(ctx);
      return nullptr;
    }
    entries_.push_back({digest, std::string(key), ctx});
    return ctx;
  }

 private:
  static constexpr std::size_t max_entries = 64;
  struct entry {
    const char* digest;  // a string literal: compared by address
    std::string key;
    EVP_MAC_CTX* ctx;
  };
  void clear() {
    for (auto& e : entries_) EVP_MAC_CTX_free(e.ctx);
    entries_.clear();
  }
  std::vector<entry> entries_;
};

constexpr const char* sha256_name = "SHA256";
constexpr const char* sha1_name = "SHA1";

// HMAC(digest, key, data); an empty result only if OpenSSL fails.
std::pair<std::array<unsigned char, EVP_MAX_MD_SIZE>, std::size_t> hmac(const char* digest,
                                                                        std::string_view key,
                                                                        std::string_view data) {
  thread_local mac_contexts contexts;
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  std::size_t len = 0;
  EVP_MAC_CTX* ctx = contexts.get(digest, key);
  if (!ctx ||
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1 ||
      EVP_MAC_final(ctx, out.data(), &len, out.size()) != 1)
    len = 0;
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

namespace {
// "sha256=" + hex HMAC-SHA256 of `body`, written into `out` (no allocation:
// verification runs for every webhook); "" only if OpenSSL fails.
using meta_text = std::array<char, 7 + 2 * SHA256_DIGEST_LENGTH>;
std::string_view meta_signature_into(std::string_view app_secret, std::string_view body,
                                     meta_text& out) {
  constexpr std::string_view prefix = "sha256=";
  auto [mac, len] = hmac(sha256_name, app_secret, body);
  if (len != SHA256_DIGEST_LENGTH) return {};
  std::copy(prefix.begin(), prefix.end(), out.begin());
  hex_into(mac.data(), len, out.data() + prefix.size());
  return {out.data(), out.size()};
}
}  // namespace

std::string meta_signature(std::string_view app_secret, std::string_view body) {
  meta_text buf;
  return std::string(meta_signature_into(app_secret, body, buf));
}

bool verify_meta_signature(std::string_view header, std::string_view app_secret,
                           std::string_view body) {
  meta_text buf;
  auto expected = meta_signature_into(app_secret, body, buf);
  return !expected.empty() && constant_time_equal(header, expected);
}

namespace {
using param_refs = std::vector<const std::pair<std::string, std::string>*>;

// The parameters in signing order: by name, then by value.
param_refs signing_order(const form_params& params) {
  param_refs sorted;
  sorted.reserve(params.size());
  for (const auto& p : params) sorted.push_back(&p);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return *a < *b; });
  return sorted;
}

std::string twilio_signature_of(std::string_view auth_token, std::string_view url,
                                const param_refs& sorted) {
  std::string data(url);
  for (auto* p : sorted) {
    data += p->first;
    data += p->second;
  }
  auto [mac, len] = hmac(sha1_name, auth_token, data);
  if (len == 0) return {};
  return base64(std::string_view(reinterpret_cast<const char*>(mac.data()), len));
}
}  // namespace

std::string twilio_signature(std::string_view auth_token, std::string_view url,
                             const form_params& params) {
  return twilio_signature_of(auth_token, url, signing_order(params));
}

bool verify_twilio_signature(std::string_view header, std::string_view auth_token,
                             std::string_view url, const form_params& params) {
  auto same = [](auto* a, auto* b) { return *a == *b; };
  auto sorted = signing_order(params);
  param_refs once;  // with a pair sent twice: each pair once, as Node's validator signs
  if (std::adjacent_find(sorted.begin(), sorted.end(), same) != sorted.end()) {
    once = sorted;
    once.erase(std::unique(once.begin(), once.end(), same), once.end());
  }
  auto matches = [&](std::string_view signed_url) {
    auto signed_as = [&](const param_refs& order) {
      auto expected = twilio_signature_of(auth_token, signed_url, order);
      return !expected.empty() && constant_time_equal(header, expected);
    };
    return signed_as(sorted) || (!once.empty() && signed_as(once));
  };
  if (matches(url)) return true;
  auto other = toggle_default_port(url);
  return other != url && matches(other);
}

std::optional<std::string_view> twilio_body_hash(std::string_view url) {
  auto query = url.find('?');
  if (query == std::string_view::npos) return std::nullopt;
  constexpr std::string_view name = "bodySHA256=";
  for (auto at = query + 1; at < url.size();) {
    auto end = std::min(url.find('&', at), url.size());
    auto param = url.substr(at, end - at);
    if (param.starts_with(name)) return param.substr(name.size());
    at = end + 1;
  }
  return std::nullopt;
}

bool verify_twilio_body_signature(std::string_view header, std::string_view auth_token,
                                  std::string_view url, std::string_view body) {
  auto hash = twilio_body_hash(url);
  if (!hash || !constant_time_equal(*hash, hex_sha256(body))) return false;
  return verify_twilio_signature(header, auth_token, url, {});
}

std::string base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(data.data()),
                            static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(len));
  return out;
}

}  // namespace gw::protocol
