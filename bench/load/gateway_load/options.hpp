// gateway-load's command line: every option, its default and its help text
// in one table (options.cpp), so --help cannot drift from the parser.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gw::load {

enum class provider { whatsapp, twilio, none };

struct options {
  // Target: loopback only.
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  std::vector<std::string> bind;  // agents' source addresses, round robin
  unsigned threads = 1;

  // Bounds.
  double duration = 10;  // measured seconds, after the warm-up
  double warmup = 1;
  std::uint64_t requests = 0;  // webhooks at most; 0: derived from rate and duration

  // Webhooks.
  provider kind = provider::whatsapp;
  std::string channel = "wa-bench";
  std::string secret = "bench-app-secret";  // Meta app secret or Twilio auth token
  std::string phone_number_id = "100000000000001";
  std::string number = "+15550001111";  // Twilio: the channel's number (To)
  std::string public_url;               // Twilio signing base; default http://host:port
  double rate = 0;                      // 0: closed loop
  unsigned tick_us = 100;               // open loop: sends wake up on this grid
  unsigned connections = 64;
  std::uint64_t conversations = 10'000;
  std::uint64_t id_base = 0;
  int stamp = -1;  // -1: on when agents are connected (latency), else prepared requests
  // Clinics: patient p writes to tenant p % tenants, agent i works for
  // tenant i % tenants (see channel_of and token_of).
  unsigned tenants = 1;

  // Agents.
  unsigned agents = 0;
  std::string token;
  std::string views = R"(["new","mine"])";
  unsigned ack_ms = 0;                    // each agent marks read at most this often; 0: never
  double reply_rate = 0;                  // replies per second, all agents together (open loop)
  unsigned reply_window = 0;              // replies outstanding per agent (closed loop)
  std::uint64_t reply_conversations = 0;  // reply to the webhooks' first N patients
  unsigned parallel_connects = 500;
  long gateway_pid = 0;         // resident memory before/after the sessions are up
  unsigned short sim_port = 0;  // provider_sim: count what it accepted

  // Output.
  bool json = false;
  bool quiet = false;

  // Tenant t's channel, its phone number id and its agents' token: the
  // options as given with one tenant; with more, "-t" appended to the
  // channel and the token, and t added to the phone number id.
  std::string channel_of(unsigned t) const;
  std::string phone_number_id_of(unsigned t) const;
  std::string token_of(unsigned t) const;
};

// Parses argv; prints usage and exits 2 on a bad option, prints the help and
// exits 0 on --help.
options parse_options(int argc, char** argv);

const char* provider_name(provider p);

}  // namespace gw::load
