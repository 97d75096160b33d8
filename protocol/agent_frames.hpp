// The agent protocol's frame envelope: decode client commands, encode replies.
//
// Every client frame is one JSON object text frame: {"c": <command>, "id": <id>, ...}.
// `id` is chosen by the client (1-64 bytes) and echoed in the reply, which is
// {"t":"ok","id":...,...} or {"t":"err","id":...,"code":...,"msg":...}.
// M1 knows one command, `ping` (answered by {"t":"pong","id":...}), which lets
// browsers, which cannot send WebSocket pings, measure round trips. M4 adds the
// rest of protocol v1 on this envelope.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace gw::protocol {

enum class frame_error : std::uint8_t {
  bad_frame,        // not a JSON object, or `c`/`id` missing or of the wrong type
  unknown_command,  // `c` names no command of this protocol version
};

std::string_view code_of(frame_error e) noexcept;

inline constexpr std::size_t max_command_id_bytes = 64;

enum class command_kind : std::uint8_t { ping };

struct command {
  command_kind kind;
  std::string id;
};

struct decode_failure {
  frame_error error;
  std::string id;       // echoed when the frame carried a usable id, else empty
  std::string message;  // names the problem
};

using decode_result = std::variant<command, decode_failure>;

// Decodes one text frame. Never throws on bad input.
decode_result decode_command(std::string_view frame);

std::string encode_pong(std::string_view id);
std::string encode_error(std::string_view id, frame_error e, std::string_view message);

}  // namespace gw::protocol
