// The provider side of the load: signed WhatsApp or Twilio webhooks posted
// over keep-alive connections, open loop (each connection sends on a fixed
// schedule; latency counts from the scheduled time, so a stall is charged to
// the server: no coordinated omission) or closed loop (the next request when
// the answer arrives).
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bench/load/gateway_load/run.hpp"

namespace gw::load {

// The text marker that carries a webhook's send time to the agents:
// "#lt<CLOCK_MONOTONIC ns>" at the end of the patient's text.
inline constexpr std::string_view stamp_marker = "#lt";

// Raw HTTP requests, signed as the provider signs them.
class webhook_source {
 public:
  explicit webhook_source(const options& opt);
  // Request n: the patient cycles over --conversations numbers, the message
  // id is unique per n; sent_ns != 0 stamps the text.
  std::string request(std::uint64_t n, std::int64_t sent_ns = 0) const;
  // The patient address of request n as the gateway names the conversation.
  std::string patient(std::uint64_t n) const;

 private:
  const options& opt_;
  // Per tenant (--tenants), made once: the webhook path and, for WhatsApp,
  // the phone number id.
  std::vector<std::string> paths_, phone_number_ids_;
};

// Starts --connections connections spread over the contexts; they stop by
// themselves at clock.end or when the --requests budget is spent.
// `prepared` (when not stamping) holds request i at index i.
void start_webhooks(run_state& run, const std::vector<boost::asio::io_context*>& contexts,
                    std::vector<thread_results>& results, const webhook_source& source,
                    const std::vector<std::string>& prepared);

}  // namespace gw::load
