#include "protocol/http_errors.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

namespace gw::protocol {
namespace {

TEST(HttpErrors, StatusAndCodeForEveryError) {
  EXPECT_EQ(status_of(http_error::bad_request), 400);
  EXPECT_EQ(status_of(http_error::unsupported_subprotocol), 400);
  EXPECT_EQ(status_of(http_error::bad_signature), 401);
  EXPECT_EQ(status_of(http_error::unauthorized), 401);
  EXPECT_EQ(status_of(http_error::forbidden), 403);
  EXPECT_EQ(code_of(http_error::forbidden), "forbidden");
  EXPECT_EQ(status_of(http_error::not_found), 404);
  EXPECT_EQ(status_of(http_error::method_not_allowed), 405);
  EXPECT_EQ(status_of(http_error::conflict), 409);
  EXPECT_EQ(code_of(http_error::conflict), "conflict");
  EXPECT_EQ(status_of(http_error::request_timeout), 408);
  EXPECT_EQ(status_of(http_error::payload_too_large), 413);
  EXPECT_EQ(status_of(http_error::upgrade_required), 426);
  EXPECT_EQ(status_of(http_error::header_too_large), 431);
  EXPECT_EQ(status_of(http_error::internal), 500);
  EXPECT_EQ(status_of(http_error::unavailable), 503);
  EXPECT_EQ(code_of(http_error::header_too_large), "header_too_large");
  EXPECT_EQ(code_of(http_error::unsupported_subprotocol), "unsupported_subprotocol");
}

TEST(HttpErrors, BodyIsJsonWithEscapedMessage) {
  auto body = error_body(http_error::not_found, "no route for /a\"b\n");
  auto v = boost::json::parse(body).as_object();
  EXPECT_EQ(v.at("error").as_string(), "not_found");
  EXPECT_EQ(v.at("message").as_string(), "no route for /a\"b\n");
}

}  // namespace
}  // namespace gw::protocol
