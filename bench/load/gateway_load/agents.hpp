// The agent side of the load: WebSocket sessions (gw.agent.v1, the token in
// the Authorization header) that subscribe to views, count the events they
// receive, time each patient message from its webhook's send time, mark
// conversations read, and reply to the conversations they have seen, timing
// each reply to its `ok` and to the provider's `sent`.
//
// The handshake is written by hand and frames are parsed in place from the
// socket buffer (server frames are unmasked), so one client thread keeps up
// with hundreds of thousands of frames per second; each session starts with
// a 4 KiB buffer, so 50,000 idle sessions fit in the client too.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <vector>

#include "bench/load/gateway_load/run.hpp"

namespace gw::load {

class agent_session;

class agent_pool {
 public:
  agent_pool(run_state& run, const std::vector<boost::asio::io_context*>& contexts,
             std::vector<thread_results>& results);
  ~agent_pool();

  // Connects --agents sessions, --parallel-connects at a time, round robin
  // over the threads and the --bind addresses; returns once each is up or
  // failed, or at `deadline`. Called from the main thread while the
  // contexts run.
  void connect_all(clock_type::time_point deadline);
  // Starts the read marks and replies (if asked for) on the run's clock.
  void start_traffic();

 private:
  run_state& run_;
  std::vector<boost::asio::io_context*> contexts_;
  std::vector<thread_results>& results_;
  std::vector<std::shared_ptr<agent_session>> sessions_;
};

// The resident memory of a process in KiB; -1 when unknown.
long resident_kib(long pid);

}  // namespace gw::load
