// Every admin route the gateway registers is documented in openapi.yaml.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "gateway/api/billing_api.hpp"
#include "gateway/api/directory_api.hpp"
#include "tests/support/process.hpp"

namespace gw::api {
namespace {

TEST(OpenApi, DocumentsEveryDirectoryAndBalanceRoute) {
  std::string path = GATEWAY_SOURCE_DIR;
  path += "/gateway/api/openapi.yaml";
  std::ifstream in(path);
  ASSERT_TRUE(in);
  std::stringstream text;
  text << in.rdbuf();
  auto yaml = text.str();

  test::temp_dir dir;
  boost::asio::io_context writer;
  domain::directory_service directory(dir.path(), writer, {});
  channel_directory channels(directory);
  net::router r;
  add_directory_routes(r, "key", directory, channels);
  domain::billing_service billing(dir.path() + "/balance", writer, {});
  add_billing_routes(r, "key", directory, channels, billing);
  ASSERT_GT(r.labels().size(), 5u);
  for (std::size_t i = 1; i < r.labels().size(); ++i)
    EXPECT_NE(yaml.find("\n  " + r.labels()[i] + ":\n"), std::string::npos)
        << r.labels()[i] << " is not in openapi.yaml";
  EXPECT_NE(yaml.find("\n  /v1/conversations/{tenant}/{channel}/{address}:\n"), std::string::npos);
  // The clinic systems' routes (automatic_api.cpp need the whole command path).
  EXPECT_NE(yaml.find("\n  /v1/tenants/{tenant}/channels/{channel}/messages:\n"),
            std::string::npos);
  EXPECT_NE(yaml.find("\n  /v1/tenants/{tenant}/channels/{channel}/contacts/{address}:\n"),
            std::string::npos);
}

}  // namespace
}  // namespace gw::api
