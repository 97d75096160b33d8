// Asio's rings take completions without interrupts (gateway/io_uring_setup.cpp).
#if defined(BOOST_ASIO_HAS_IO_URING)

#include <gtest/gtest.h>
#include <liburing.h>

#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <thread>

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

TEST(IoUringSetup, RingsAreSetUpWithoutCompletionInterrupts) {
  // Every binary linked with gw_asio wraps the call Asio makes.
  io_uring ring;
  ASSERT_EQ(io_uring_queue_init(8, &ring, 0), 0);
  EXPECT_TRUE(ring.flags & IORING_SETUP_COOP_TASKRUN);
  EXPECT_TRUE(ring.flags & IORING_SETUP_TASKRUN_FLAG);
  io_uring_queue_exit(&ring);
}

// The deferred case: data arrives (from another thread) while this thread
// runs in user space and makes no system call, so the receive's completion
// waits as task work. One non-blocking poll must still deliver it: the ring
// flags the waiting work and liburing's peek enters the kernel to run it.
// (Without that flag the poll misses it, unless a timer tick happened to run
// the work meanwhile: the busy spell is kept well under a tick, 4 ms here,
// and the case is tried ten times.)
TEST(IoUringSetup, APollDeliversACompletionThatArrivedWhileTheThreadWasBusy) {
  asio::io_context ioc(1);
  tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  tcp::socket writer(ioc), reader(ioc);
  writer.connect(acceptor.local_endpoint());
  acceptor.accept(reader);

  for (char round = 'a'; round < 'a' + 10; ++round) {
    char byte = 0;
    bool received = false;
    reader.async_receive(asio::buffer(&byte, 1), [&](boost::system::error_code ec, std::size_t n) {
      received = !ec && n == 1;
    });
    ioc.poll();  // the receive is submitted and waits for data
    ASSERT_FALSE(received);

    std::atomic<bool> written{false};
    std::thread other([&] {
      asio::write(writer, asio::buffer(&round, 1));
      written.store(true, std::memory_order_release);
    });
    // Busy, without system calls, until the byte is in and a little after.
    while (!written.load(std::memory_order_acquire)) {
    }
    auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(500);
    while (std::chrono::steady_clock::now() < until) {
    }
    ioc.poll();
    EXPECT_TRUE(received) << "round " << round;
    EXPECT_EQ(byte, round);
    other.join();
    ioc.restart();
  }
}

}  // namespace

#endif  // BOOST_ASIO_HAS_IO_URING
