#include "gateway/net/coalescing_stream.hpp"

#include <gtest/gtest.h>

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <string>
#include <thread>

#include "gateway/net/exact_allocator.hpp"
#include "gateway/net/streams.hpp"

namespace gw::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct counting_observer final : backlog_observer {
  std::int64_t backlog = 0, peak = 0;
  void backlog_changed(std::int64_t delta) noexcept override {
    backlog += delta;
    peak = std::max(peak, backlog);
  }
};

// A connected loopback pair: the stream under test and the peer's socket.
struct pair {
  asio::io_context ioc;
  tcp::socket peer{ioc};
  std::shared_ptr<coalescing_stream<plain_stream>> out;
  pair() {
    tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    plain_stream s(ioc);
    s.connect(acceptor.local_endpoint());
    peer = acceptor.accept();
    out = std::make_shared<coalescing_stream<plain_stream>>(std::move(s));
    out->keep_alive(out);
  }
  // Runs the stream's executor (its sends) until idle while the peer reads
  // `n` bytes.
  std::string run_and_read(std::size_t n) {
    ioc.restart();
    std::thread io([this] { ioc.run(); });
    std::string got(n, '\0');
    asio::read(peer, asio::buffer(got));
    io.join();
    return got;
  }
};

std::string text_frame(std::string_view payload) {
  std::string f{static_cast<char>(0x81)};
  if (payload.size() < 126) {
    f += static_cast<char>(payload.size());
  } else if (payload.size() <= 0xffff) {
    f += static_cast<char>(126);
    f += static_cast<char>(payload.size() >> 8);
    f += static_cast<char>(payload.size() & 0xff);
  } else {
    f += static_cast<char>(127);
    for (int i = 7; i >= 0; --i) f += static_cast<char>((payload.size() >> (8 * i)) & 0xff);
  }
  return f + std::string(payload);
}

TEST(CoalescingStream, FramesAndForeignWritesLeaveWholeAndInOrder) {
  pair p;
  counting_observer obs;
  p.out->observe(&obs);
  const std::string medium(300, 'm'), large(70'000, 'L');
  std::string expected;
  std::size_t beast_done = 0;
  // Interleaved: our frames, a write as Beast makes them (two buffers), more frames.
  EXPECT_EQ(p.out->append_text_frame("a"), 3u);
  expected += text_frame("a");
  std::array<asio::const_buffer, 2> pong{asio::buffer("\x8a\x01", 2), asio::buffer("P", 1)};
  p.out->async_write_some(pong, [&](boost::system::error_code ec, std::size_t n) {
    EXPECT_FALSE(ec);
    beast_done = n;
  });
  expected += std::string("\x8a\x01P", 3);
  p.out->append_text_frame(medium);
  expected += text_frame(medium);
  p.out->append_text_frame(large);
  expected += text_frame(large);
  EXPECT_EQ(beast_done, 0u) << "completions never run inline";
  EXPECT_EQ(p.out->buffered(), expected.size());
  EXPECT_EQ(obs.backlog, static_cast<std::int64_t>(expected.size()));

  // Nothing is sent before the executor turns; then everything, once.
  auto got = p.run_and_read(expected.size());
  EXPECT_EQ(p.out->buffered(), 0u);
  EXPECT_EQ(got, expected);
  EXPECT_EQ(beast_done, 3u);
  EXPECT_EQ(obs.backlog, 0);
  EXPECT_EQ(obs.peak, static_cast<std::int64_t>(expected.size()));

  // Idle again: later frames go out after their own turn.
  p.out->append_text_frame("z");
  EXPECT_EQ(p.run_and_read(3), text_frame("z"));
}

TEST(CoalescingStream, DiscardDropsOnlyWhatIsNotBeingSent) {
  pair p;
  counting_observer obs;
  p.out->observe(&obs);
  p.out->append_text_frame("kept");
  p.ioc.poll_one();  // the posted send starts: "kept" is in flight
  p.out->append_text_frame("dropped");
  p.out->discard_pending();
  EXPECT_EQ(p.run_and_read(6), text_frame("kept"));
  EXPECT_EQ(p.out->buffered(), 0u);
  EXPECT_EQ(obs.backlog, 0);
  p.peer.non_blocking(true);
  char extra;
  boost::system::error_code ec;
  EXPECT_EQ(p.peer.read_some(asio::buffer(&extra, 1), ec), 0u);
  EXPECT_EQ(ec, asio::error::would_block);
}

TEST(CoalescingStream, ASendInFlightKeepsTheStreamUntilItEnds) {
  pair p;
  p.out->append_text_frame(std::string(3'000'000, 'x'));  // more than the socket takes at once
  p.ioc.poll_one();                                       // in flight
  std::weak_ptr<void> gone = p.out;
  p.out.reset();  // the session lets go meanwhile
  EXPECT_FALSE(gone.expired()) << "the send in flight holds the stream";
  // The peer reads it all; then the send ends and lets the stream go.
  auto got = p.run_and_read(3'000'000 + 10);
  EXPECT_EQ(got.substr(10, 5), "xxxxx");
  EXPECT_TRUE(gone.expired());
}

// Over plain TCP a read goes to the socket with the first non-empty buffer
// of the sequence it is given (Beast's ring buffer hands over two pieces),
// with the handler's own allocator.
TEST(CoalescingStream, AReadFillsTheFirstNonEmptyBufferOnly) {
  pair p;
  asio::write(p.peer, asio::buffer(std::string_view("hello world")));
  char first[4] = {}, second[16] = {};
  std::array<asio::mutable_buffer, 3> pieces{asio::mutable_buffer(), asio::buffer(first),
                                             asio::buffer(second)};
  std::size_t got = 0;
  boost::system::error_code result = asio::error::would_block;
  p.out->async_read_some(pieces,
                         asio::bind_allocator(exact_allocator<void>{},
                                              [&](boost::system::error_code ec, std::size_t n) {
                                                result = ec;
                                                got = n;
                                              }));
  p.ioc.run();
  EXPECT_FALSE(result);
  ASSERT_GT(got, 0u);
  ASSERT_LE(got, sizeof first);
  EXPECT_EQ(std::string_view(first, got), std::string_view("hell").substr(0, got));
  EXPECT_EQ(second[0], '\0') << "the second piece is not written";
  // The rest is still there for the next read.
  std::string rest(11 - got, '\0');
  p.ioc.restart();
  asio::async_read(*p.out, asio::buffer(rest), [](boost::system::error_code, std::size_t) {});
  p.ioc.run();
  EXPECT_EQ(std::string_view("hello world").substr(got), rest);
}

// Closing the timed stream below (what Beast's idle timeout and teardown
// do) ends a pending read.
TEST(CoalescingStream, ClosingTheStreamBelowEndsAPendingRead) {
  pair p;
  char buf[8];
  boost::system::error_code result;
  bool done = false;
  p.out->async_read_some(asio::buffer(buf), [&](boost::system::error_code ec, std::size_t) {
    result = ec;
    done = true;
  });
  p.ioc.poll();
  EXPECT_FALSE(done);
  p.out->next_layer().close();
  p.ioc.run();
  EXPECT_TRUE(done);
  EXPECT_EQ(result, asio::error::operation_aborted);
}

}  // namespace
}  // namespace gw::net
