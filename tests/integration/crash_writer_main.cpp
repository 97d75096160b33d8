// Test program for the kill test: appends inbound events through the
// conversation core as fast as it can and prints "ack <n>" for each event
// once it is durable, until it is killed.
//
// usage: crash_writer DATA_DIR FIRST_NUMBER
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "gateway/domain/conversations.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: crash_writer DATA_DIR FIRST_NUMBER\n");
    return 2;
  }
  gw::runtime::shard_set shards(2);
  shards.start();
  gw::domain::core_options opts;
  opts.data_dir = argv[1];
  opts.segment_bytes = 256 * 1024;  // rotate often: kills land in rotations too
  gw::domain::conversation_service core(shards, opts);
  core.recover();

  std::mutex out;
  std::atomic<int> inflight{0};
  for (unsigned long long n = std::strtoull(argv[2], nullptr, 10);; ++n) {
    while (inflight.load() > 256) std::this_thread::yield();
    ++inflight;
    gw::domain::event e;
    e.kind = gw::domain::event_kind::message_in;
    e.provider_id = "p" + std::to_string(n);
    e.text = std::string(n % 200, 'x');  // records of varied length
    gw::domain::conversation_key key{"t", "c", "+" + std::to_string(n % 8)};
    core.submit(std::move(key), {std::move(e)}, [n, &out, &inflight](std::error_code ec, auto) {
      if (!ec) {
        std::lock_guard lock(out);
        std::printf("ack %llu\n", n);
        std::fflush(stdout);
      }
      --inflight;
    });
  }
}
