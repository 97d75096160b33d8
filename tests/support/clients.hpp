// Test support: HTTP, raw TCP and WebSocket clients with time limits. Each
// client runs its own io_context on a thread; every wait is bounded, so a
// misbehaving server fails a test instead of hanging it.
#pragma once

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace gw::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using http_response = http::response<http::string_body>;

// An io_context running on its own thread for one client.
class io_thread {
 public:
  io_thread();
  ~io_thread();
  asio::io_context& ioc() noexcept { return ioc_; }
  // A use_future token whose completion runs on this thread. Plain
  // use_future completes on Asio's system thread pool, where an operation
  // may still hold its I/O object after the future is ready, and free it
  // after this io_context is gone (AddressSanitizer caught a WebSocket
  // close doing so).
  auto use_future() { return asio::bind_executor(ioc_.get_executor(), asio::use_future); }

 private:
  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::thread thread_;
};

// Runs `fn` on the client's thread and waits for it.
template <class Fn>
void run_on(io_thread& io, Fn fn) {
  std::promise<void> done;
  asio::post(io.ioc(), [&] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

// Waits for a use_future result; throws std::runtime_error on timeout.
template <class T>
T await(std::future<T>& f, std::chrono::milliseconds limit, const char* what) {
  if (f.wait_for(limit) != std::future_status::ready)
    throw std::runtime_error(std::string("timed out: ") + what);
  return f.get();
}

class tcp_client {
 public:
  explicit tcp_client(std::uint16_t port, std::chrono::milliseconds limit = 5s);
  ~tcp_client();

  void send(std::string_view bytes);
  // Sends a request and reads its response.
  http_response request(http::request<http::string_body> req);
  http_response get(std::string target);
  http_response read_response();
  // True if the server closes the connection within `limit` (data before
  // the close is discarded); false if it is still open then.
  bool wait_closed(std::chrono::milliseconds limit);
  tcp::socket& socket() noexcept { return sock_; }

 private:
  io_thread io_;
  tcp::socket sock_;
  beast::flat_buffer buf_;
  std::chrono::milliseconds limit_;
};

// One request on a fresh connection.
http_response http_get(std::uint16_t port, std::string target);
using header_list = std::vector<std::pair<std::string, std::string>>;
http_response http_post(std::uint16_t port, std::string target, std::string body,
                        std::string_view content_type, const header_list& headers = {});
// Any method; a non-empty body goes as application/json.
http_response http_request(std::uint16_t port, http::verb method, std::string target,
                           std::string body = {}, const header_list& headers = {});

// One sample from /metrics, by its series as rendered ("name{k=\"v\"}");
// -1 when the gateway does not expose it.
double metric(std::uint16_t port, std::string_view series);

class ws_client {
 public:
  // Connects and performs the handshake offering `subprotocol` (and
  // `Authorization: Bearer <bearer>` when given); throws
  // boost::system::system_error when the server refuses.
  explicit ws_client(std::uint16_t port, std::string subprotocol = "gw.agent.v1",
                     std::chrono::milliseconds limit = 5s, int rcvbuf = 0, std::string bearer = {});
  ~ws_client();

  void send_text(std::string text);
  // Reads one message; throws system_error (websocket::error::closed when
  // the server closed, with close_code() set) or runtime_error on timeout.
  std::string read_text();
  std::uint16_t close_code() const { return ws_.reason().code; }
  // Reads until the connection ends; returns the close code the server sent
  // (0 if none arrived) and counts the messages read before it.
  std::uint16_t read_until_close(int* messages = nullptr);
  std::string accepted_subprotocol() const { return subprotocol_; }
  websocket::stream<tcp::socket>& stream() noexcept { return ws_; }
  auto use_future() { return io_.use_future(); }  // for operations on stream()

 private:
  io_thread io_;
  websocket::stream<tcp::socket> ws_;
  beast::flat_buffer buf_;
  std::chrono::milliseconds limit_;
  std::string subprotocol_;
};

}  // namespace gw::test
