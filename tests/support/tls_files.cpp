// Certificate generation through the openssl CLI.
#include "tests/support/tls_files.hpp"

#include <cstdlib>
#include <stdexcept>

namespace gw::test {

tls_files make_tls_files(const std::string& san) {
  tls_files f;
  f.cert = f.dir.path() + "/cert.pem";
  f.key = f.dir.path() + "/key.pem";
  std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
      " -keyout " +
      f.key + " -out " + f.cert + " -days 1 -subj /CN=localhost -addext subjectAltName=" + san +
      " >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl req failed");
  return f;
}

}  // namespace gw::test
