// Test support: a throw-away self-signed certificate for 127.0.0.1.
#pragma once

#include <string>

#include "tests/support/process.hpp"

namespace gw::test {

struct tls_files {
  temp_dir dir;
  std::string cert, key;
};

// Makes an EC P-256 key and a one-day self-signed certificate with
// CN=localhost and the given subjectAltName, using the openssl command-line
// tool.
tls_files make_tls_files(const std::string& san = "IP:127.0.0.1,DNS:localhost");

}  // namespace gw::test
