#include "gateway/net/http_wire.hpp"

#include <gtest/gtest.h>

#include <boost/beast/http/write.hpp>
#include <cstring>
#include <sstream>

namespace gw::net {
namespace {

// What Beast's serializer writes for the same response.
std::string beast_bytes(const response& res) {
  std::ostringstream out;
  out << res;
  return out.str();
}

TEST(Serialize, WritesWhatBeastWrites) {
  std::vector<response> cases;
  cases.push_back(make_response(http::status::ok, R"({"status":"ok"})", "application/json"));
  cases.push_back(make_error(protocol::http_error::method_not_allowed, "PUT is not allowed"));
  cases.back().set(http::field::allow, "GET, POST");
  cases.push_back(make_response(http::status::no_content, "", "text/plain"));
  cases.push_back(make_response(http::status::ok, "<Response/>", "text/xml"));
  cases.back().version(10);
  cases.back().keep_alive(true);
  cases.push_back(make_response(http::status::ok, "closing", "text/plain"));
  cases.back().keep_alive(false);
  cases.push_back(make_response(http::status::ok, std::string(70000, 'x'), "text/plain"));
  cases.push_back(make_response(http::status::ok, "in one chunk", "text/plain"));
  cases.back().chunked(true);
  cases.push_back(make_response(http::status::ok, std::string(70000, 'y'), "text/plain"));
  cases.back().chunked(true);  // a size of five hex digits
  cases.push_back(make_error(protocol::http_error::unavailable, "later"));
  for (const auto& res : cases) {
    std::string out = "kept:";  // appends
    serialize(res, out);
    EXPECT_EQ(out, "kept:" + beast_bytes(res)) << res.base();
  }
}

TEST(Serialize, WritesRequestsAsBeastDoes) {
  request post{http::verb::post, "/2010-04-01/Accounts/AC1/Messages.json?x=1", 11};
  post.set(http::field::host, "127.0.0.1:9400");
  post.set(http::field::authorization, "Basic QUMxOnRva2Vu");
  post.set(http::field::content_type, "application/x-www-form-urlencoded");
  post.body() = "To=%2B34600000001&Body=hi";
  post.prepare_payload();
  request get{http::verb::get, "/v1/x", 10};
  get.keep_alive(true);
  for (const auto& req : {post, get}) {
    std::ostringstream beast;
    beast << req;
    std::string out;
    serialize(req, out);
    EXPECT_EQ(out, beast.str());
  }
}

// An empty chunked body is the last chunk alone. (Beast writes a second
// last chunk after it, which a client would read as the start of the next
// response.)
TEST(Serialize, AnEmptyChunkedBodyIsTheLastChunkAlone) {
  auto res = make_response(http::status::ok, "", "text/plain");
  res.chunked(true);
  std::string out;
  serialize(res, out);
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nServer: gateway/" GATEWAY_VERSION
                 "\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
}

// A buffer, a request parser, and parse_buffered over them.
struct parsing : ::testing::Test {
  boost::beast::flat_buffer b;
  http::request_parser<http::string_body> p;
  boost::beast::error_code ec;
  std::size_t used = 0;

  void fill(std::string_view bytes) {
    auto room = b.prepare(bytes.size());
    std::memcpy(room.data(), bytes.data(), bytes.size());
    b.commit(bytes.size());
  }
  bool parse(bool whole) { return parse_buffered(p, b, whole, ec, used); }
};

TEST_F(parsing, AWholeRequestNeedsNoRead) {
  fill("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcGET /next HTTP/1.1\r\n");
  ASSERT_TRUE(parse(false));  // the header first
  EXPECT_FALSE(ec);
  EXPECT_TRUE(p.is_header_done());
  EXPECT_FALSE(p.is_done());
  ASSERT_TRUE(parse(true));  // then the body
  EXPECT_FALSE(ec);
  EXPECT_EQ(p.get().body(), "abc");
  EXPECT_EQ(used, 51u);
  // The next request's bytes stay for the next parser.
  EXPECT_EQ(std::string_view(static_cast<const char*>(b.data().data()), b.size()),
            "GET /next HTTP/1.1\r\n");
}

TEST_F(parsing, APartialMessageAsksForMoreAndLosesNothing) {
  fill("POST /x HTTP/1.1\r\nHost: h\r\nConte");
  EXPECT_FALSE(parse(false));  // the header is cut
  EXPECT_FALSE(ec);
  // Beast takes the whole lines; the cut one waits in the buffer.
  EXPECT_EQ(used, 27u);
  EXPECT_EQ(b.size(), 5u);
  fill("nt-Length: 6\r\n\r\nabc");
  EXPECT_TRUE(parse(false));
  EXPECT_FALSE(parse(true));  // half the body
  EXPECT_FALSE(ec);
  fill("def");
  EXPECT_TRUE(parse(true));
  EXPECT_EQ(p.get().body(), "abcdef");
  EXPECT_EQ(b.size(), 0u);
}

TEST_F(parsing, ABodyOverTheLimitIsTheParsersError) {
  fill("POST /x HTTP/1.1\r\nContent-Length: 100\r\n\r\n");
  p.body_limit(10);
  EXPECT_TRUE(parse(true));
  EXPECT_EQ(ec, http::error::body_limit);
}

TEST_F(parsing, AMalformedHeaderIsTheParsersError) {
  fill("GET / HTTP/1.1\r\nBad Header Line\r\n\r\n");
  EXPECT_TRUE(parse(false));
  EXPECT_TRUE(ec);
}

}  // namespace
}  // namespace gw::net
