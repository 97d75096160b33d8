// HTTP routing: (method, path pattern) -> handler, plus the responder that a
// handler answers through, now or later and from any thread.
//
// Threads: routes are added before the server starts; find() is const and
// safe from every shard at once.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/container/small_vector.hpp>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/http_errors.hpp"

namespace gw::net {

namespace http = boost::beast::http;
using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

// Answers one request exactly once. Calling it from any thread is fine: the
// session hops to its own executor. A responder destroyed without answering
// answers 500, so a forgotten path cannot hang a client.
class responder {
 public:
  using send_fn = std::function<void(response)>;
  explicit responder(send_fn send) : send_(std::move(send)) {}
  responder(responder&&) noexcept = default;
  responder& operator=(responder&&) = delete;
  ~responder();

  void operator()(response res);
  // A JSON response: status from the error table, {"error","message"} body.
  void error(protocol::http_error e, std::string_view message);
  void json(http::status status, std::string body);
  void text(http::status status, std::string body, std::string_view content_type);

 private:
  send_fn send_;
};

// What a handler sees of the request.
struct request_context {
  const request& req;
  std::string_view path;
  std::string_view query;
  // {name} -> segment; routes capture one or two, held inline (no allocation per request).
  boost::container::small_vector<std::pair<std::string_view, std::string_view>, 4> params;

  std::string_view param(std::string_view name) const noexcept;
};

using handler = std::function<void(request_context&, responder)>;

// Per-route limits, applied as soon as the headers are read (before the
// body): a route may accept less than http.max_body_bytes.
struct route_options {
  std::size_t max_body_bytes = 0;  // 0: http.max_body_bytes
  std::string_view limit_name;     // the setting to name in the 413 message
  // Told about a 413 (after params are filled), e.g. to count it.
  std::function<void(const request_context&)> on_too_large;
};

// Builds a response with the gateway's common headers.
response make_response(http::status status, std::string body, std::string_view content_type);
response make_error(protocol::http_error e, std::string_view message);

class router {
 public:
  router();

  // Registers a handler. Pattern segments written {name} match any one
  // segment and are captured. Returns the route's metrics index.
  std::size_t add(http::verb method, std::string pattern, handler h, route_options opts = {});
  // Registers a WebSocket endpoint: the session upgrades upgrade requests to
  // it; a plain GET gets 426.
  std::size_t add_websocket(std::string pattern);

  struct match {
    const handler* h = nullptr;  // null: no route for this method (see allow)
    bool websocket = false;
    std::size_t index = 0;                   // 0: the path matched nothing
    std::string allow;                       // methods the path accepts, for 405
    const route_options* options = nullptr;  // with h
  };
  // Matches `path` (no query string); fills ctx.params on success.
  match find(http::verb method, std::string_view path, request_context* ctx) const;

  // Metrics labels by index; 0 is "unmatched".
  const std::vector<std::string>& labels() const noexcept { return labels_; }

 private:
  struct entry {
    http::verb method;
    std::vector<std::string> segments;
    std::size_t index;
    bool websocket;
    handler h;
    route_options options;
  };
  std::size_t label_index(const std::string& pattern);
  std::vector<entry> entries_;
  std::vector<std::string> labels_;
};

// Splits a request target into path and query.
std::pair<std::string_view, std::string_view> split_target(std::string_view target) noexcept;

}  // namespace gw::net
