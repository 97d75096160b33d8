#include "protocol/signatures.hpp"

#include <gtest/gtest.h>

namespace gw::protocol {
namespace {

const form_params twilio_doc_params = {{"CallSid", "CA1234567890ABCDE"},
                                       {"Caller", "+12349013030"},
                                       {"Digits", "1234"},
                                       {"From", "+12349013030"},
                                       {"To", "+18005551212"}};

TEST(Signatures, MetaHubSignature256) {
  std::string body = R"({"object":"whatsapp_business_account","entry":[]})";
  auto sig = meta_signature("app-secret", body);
  EXPECT_EQ(sig, "sha256=d3e4f9da0ce6c71ab3dba55929b8eeeee2455349e534924ead19f98d143e904f");
  EXPECT_TRUE(verify_meta_signature(sig, "app-secret", body));
  EXPECT_FALSE(verify_meta_signature(sig, "other-secret", body));
  EXPECT_FALSE(verify_meta_signature(sig, "app-secret", body + " "));
  EXPECT_FALSE(verify_meta_signature(sig.substr(7), "app-secret", body));  // no "sha256=" prefix
  EXPECT_FALSE(verify_meta_signature("", "app-secret", body));
  std::string upper = sig;
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  EXPECT_FALSE(verify_meta_signature(upper, "app-secret", body));
}

// Twilio's documented example: token 12345, this URL and these parameters.
TEST(Signatures, TwilioDocumentedExample) {
  const std::string url = "https://mycompany.com/myapp.php?foo=1&bar=2";
  EXPECT_EQ(twilio_signature("12345", url, twilio_doc_params), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
  EXPECT_TRUE(
      verify_twilio_signature("0/KCTR6DLpKmkAf8muzZqo1nDgQ=", "12345", url, twilio_doc_params));
  // Parameter order on the wire does not matter: they are sorted.
  form_params shuffled(twilio_doc_params.rbegin(), twilio_doc_params.rend());
  EXPECT_TRUE(verify_twilio_signature("0/KCTR6DLpKmkAf8muzZqo1nDgQ=", "12345", url, shuffled));
  auto tampered = twilio_doc_params;
  tampered[2].second = "9999";
  EXPECT_FALSE(verify_twilio_signature("0/KCTR6DLpKmkAf8muzZqo1nDgQ=", "12345", url, tampered));
  EXPECT_FALSE(
      verify_twilio_signature("0/KCTR6DLpKmkAf8muzZqo1nDgQ=", "54321", url, twilio_doc_params));
}

TEST(Signatures, TwilioAcceptsUrlWithOrWithoutDefaultPort) {
  const std::string bare = "https://mycompany.com/myapp.php?foo=1&bar=2";
  const std::string ported = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
  const std::string signed_with_port = "EpDEmp1PyjDYp77YxYU3GILBWzE=";
  EXPECT_EQ(twilio_signature("12345", ported, twilio_doc_params), signed_with_port);
  EXPECT_TRUE(verify_twilio_signature(signed_with_port, "12345", bare, twilio_doc_params));
  EXPECT_TRUE(
      verify_twilio_signature("0/KCTR6DLpKmkAf8muzZqo1nDgQ=", "12345", ported, twilio_doc_params));
  // A non-default port is never dropped or swapped.
  EXPECT_FALSE(verify_twilio_signature(signed_with_port, "12345",
                                       "https://mycompany.com:8443/myapp.php?foo=1&bar=2",
                                       twilio_doc_params));
}

// The vectors of Twilio's own Python validator tests (twilio-python,
// tests/unit/test_request_validator.py): token 12345, their parameters.
TEST(Signatures, TwilioValidatorTestVectors) {
  const form_params params = {{"CallSid", "CA1234567890ABCDE"},
                              {"Digits", "1234"},
                              {"From", "+14158675309"},
                              {"To", "+18005551212"},
                              {"Caller", "+14158675309"}};
  const std::string url = "https://mycompany.com/myapp.php?foo=1&bar=2";
  EXPECT_EQ(twilio_signature("12345", url, params), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
  EXPECT_TRUE(verify_twilio_signature("RSOYDt4T1cUTdK1PDd93/VVr8B8=", "12345", url, params));
  // Signed with the default port, verified against the URL without it.
  EXPECT_TRUE(verify_twilio_signature("kvajT1Ptam85bY51eRf/AJRuM3w=", "12345", url, params));
  EXPECT_TRUE(verify_twilio_signature("0ZXoZLH/DfblKGATFgpif+LLRf4=", "12345",
                                      "http://mycompany.com/myapp.php?foo=1&bar=2", params));
}

// A name sent twice is signed once per value, the values sorted: the same
// validator tests' Digits=5678&Digits=1234 example.
TEST(Signatures, TwilioRepeatedParameters) {
  const std::string url = "https://mycompany.com/myapp.php?foo=1&bar=2";
  const form_params params = {
      {"Sid", "CA123"}, {"SidAccount", "AC123"}, {"Digits", "5678"}, {"Digits", "1234"}};
  EXPECT_EQ(twilio_signature("12345", url, params), "IK+Dwps556ElfBT0I3Rgjkr1wJU=");
  EXPECT_TRUE(verify_twilio_signature("IK+Dwps556ElfBT0I3Rgjkr1wJU=", "12345", url, params));
  form_params swapped = params;
  std::swap(swapped[2], swapped[3]);
  EXPECT_TRUE(verify_twilio_signature("IK+Dwps556ElfBT0I3Rgjkr1wJU=", "12345", url, swapped));
  auto tampered = params;
  tampered[3].second = "1235";
  EXPECT_FALSE(verify_twilio_signature("IK+Dwps556ElfBT0I3Rgjkr1wJU=", "12345", url, tampered));
  auto dropped = params;
  dropped.pop_back();  // one value fewer is another request
  EXPECT_FALSE(verify_twilio_signature("IK+Dwps556ElfBT0I3Rgjkr1wJU=", "12345", url, dropped));

  // The same pair twice: signed with both (Python's validator) or with one
  // (Node's, which drops repeats); either is accepted, nothing else is.
  const form_params twice = {{"Body", "hi"}, {"MediaUrl0", "u"}, {"MediaUrl0", "u"}};
  const form_params once = {{"Body", "hi"}, {"MediaUrl0", "u"}};
  auto both = twilio_signature("12345", url, twice);
  auto one = twilio_signature("12345", url, once);
  EXPECT_NE(both, one);
  EXPECT_TRUE(verify_twilio_signature(both, "12345", url, twice));
  EXPECT_TRUE(verify_twilio_signature(one, "12345", url, twice));
  EXPECT_FALSE(verify_twilio_signature(both, "12345", url, once));
}

TEST(Signatures, TwilioBodySha256Variant) {
  const std::string body = R"({"property": "value", "boolean": true})";
  const std::string hash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
  EXPECT_EQ(hex_sha256(body), hash);
  const std::string url = "https://example.com/myapp?bodySHA256=" + hash;
  EXPECT_TRUE(verify_twilio_body_signature("Klp85180pYIxzIO5cuyxpfh1BKw=", "12345", url, body));
  EXPECT_FALSE(
      verify_twilio_body_signature("Klp85180pYIxzIO5cuyxpfh1BKw=", "12345", url, body + " "));
  EXPECT_FALSE(verify_twilio_body_signature("Klp85180pYIxzIO5cuyxpfh1BKw=", "12345",
                                            "https://example.com/myapp", body));
  EXPECT_EQ(twilio_body_hash(url), hash);
  EXPECT_EQ(twilio_body_hash("https://example.com/a?x=1&bodySHA256=ab&y=2"), "ab");
  EXPECT_EQ(twilio_body_hash("https://example.com/a?xbodySHA256=ab"), std::nullopt);
  EXPECT_EQ(twilio_body_hash("https://example.com/a?x=bodySHA256=ab"), std::nullopt);
  EXPECT_EQ(twilio_body_hash("https://example.com/bodySHA256=ab"), std::nullopt);
}

TEST(Signatures, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_FALSE(constant_time_equal("abcd", "abc"));
  EXPECT_TRUE(constant_time_equal("", ""));
}

}  // namespace
}  // namespace gw::protocol
