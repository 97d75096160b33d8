// Fuzz target: gw.agent.v1 command decoding. Whatever the input, a decoded
// command satisfies the checks AGENT_PROTOCOL.md promises, and an error
// answer for it encodes to valid JSON.
#include <boost/json/parse.hpp>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "protocol/agent_frames.hpp"

namespace p = gw::protocol;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool names_conversation(p::command_kind k) {
  using enum p::command_kind;
  return k == hist || k == send || k == note || k == assign || k == close || k == reopen ||
         k == mark || k == read;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto r = p::decode_command({reinterpret_cast<const char*>(data), size});
  if (auto* f = std::get_if<p::decode_failure>(&r)) {
    check(!f->message.empty());
    boost::system::error_code ec;
    boost::json::parse(p::encode_error(f->id, f->error, f->message), ec);
    check(!ec);
    return 0;
  }
  const auto& c = std::get<p::command>(r);
  check(!c.id.empty() && c.id.size() <= p::max_command_id_bytes);
  check(c.limit >= 1 && c.limit <= p::max_page);
  switch (c.kind) {
    case p::command_kind::sub:
    case p::command_kind::unsub:
      check(!c.views.empty() && c.views.size() <= p::max_subscriptions);
      break;
    case p::command_kind::list:
      check(c.views.size() == 1);
      break;
    case p::command_kind::recent:
      check(c.hours >= 1 && c.hours <= p::max_recent_hours);
      break;
    case p::command_kind::auth:
      check(!c.token.empty());
      break;
    default:
      break;
  }
  if (names_conversation(c.kind)) {
    check(!c.channel.empty() && !c.address.empty());
    check(c.channel.find(':') == std::string::npos);
  }
  if (c.kind == p::command_kind::send || c.kind == p::command_kind::note) check(!c.text.empty());
  if (c.kind == p::command_kind::assign) check(c.assign_agent || c.assign_team);
  return 0;
}
