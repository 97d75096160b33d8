// Decoding of the client command envelope and encoding of replies.
#include "protocol/agent_frames.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace gw::protocol {

std::string_view code_of(frame_error e) noexcept {
  switch (e) {
    case frame_error::bad_frame:
      return "bad_frame";
    case frame_error::unknown_command:
      return "unknown_command";
  }
  return "bad_frame";
}

decode_result decode_command(std::string_view frame) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(frame, ec);
  if (ec)
    return decode_failure{frame_error::bad_frame, {}, "frame is not valid JSON: " + ec.message()};
  auto* obj = v.if_object();
  if (!obj) return decode_failure{frame_error::bad_frame, {}, "frame must be a JSON object"};

  std::string id;
  if (auto* idv = obj->if_contains("id")) {
    auto* ids = idv->if_string();
    if (!ids || ids->empty() || ids->size() > max_command_id_bytes)
      return decode_failure{frame_error::bad_frame, {}, "\"id\" must be a string of 1 to 64 bytes"};
    id.assign(ids->data(), ids->size());
  } else {
    return decode_failure{frame_error::bad_frame, {}, "\"id\" is missing"};
  }

  auto* cv = obj->if_contains("c");
  auto* c = cv ? cv->if_string() : nullptr;
  if (!c) return decode_failure{frame_error::bad_frame, std::move(id), "\"c\" must name a command"};
  if (*c == "ping") return command{command_kind::ping, std::move(id)};
  return decode_failure{frame_error::unknown_command, std::move(id),
                        "unknown command \"" + std::string(c->data(), c->size()) + "\""};
}

std::string encode_pong(std::string_view id) {
  boost::json::object o;
  o["t"] = "pong";
  o["id"] = id;
  return boost::json::serialize(o);
}

std::string encode_error(std::string_view id, frame_error e, std::string_view message) {
  boost::json::object o;
  o["t"] = "err";
  if (!id.empty()) o["id"] = id;
  o["code"] = code_of(e);
  o["msg"] = message;
  return boost::json::serialize(o);
}

}  // namespace gw::protocol
