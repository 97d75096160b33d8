// Messages to bytes, the way Beast's serializer writes them.
#include "gateway/net/http_wire.hpp"

#include <charconv>

namespace gw::net {

namespace {
// Appends `v` in base `base`. (snprintf took ~0.6 % of ingest's samples,
// for the status line alone.)
void append_number(std::string& out, std::uint64_t v, int base = 10) {
  char digits[20];
  auto end = std::to_chars(digits, digits + sizeof digits, v, base).ptr;
  out.append(digits, end);
}

// "HTTP/1.1" for version 11.
void append_version(std::string& out, unsigned version) {
  out.append("HTTP/");
  append_number(out, version / 10);
  out.push_back('.');
  append_number(out, version % 10);
}

// After the start line: the fields as they are, then the body (as one chunk
// when the message is chunked).
template <class Message>
void serialize_rest(const Message& m, std::string& out) {
  for (const auto& f : m) out.append(f.name_string()).append(": ").append(f.value()).append("\r\n");
  out.append("\r\n");
  const auto& body = m.body();
  if (!m.chunked()) {
    out.append(body);
    return;
  }
  if (!body.empty()) {
    append_number(out, body.size(), 16);
    out.append("\r\n").append(body).append("\r\n");
  }
  out.append("0\r\n\r\n");
}

template <class Message>
std::size_t rest_size(const Message& m) {
  std::size_t size = m.body().size() + 32;
  for (const auto& f : m) size += f.name_string().size() + f.value().size() + 4;
  return size;
}
}  // namespace

void serialize(const response& res, std::string& out) {
  const unsigned version = res.version();
  const auto reason = res.reason();
  out.reserve(out.size() + rest_size(res) + reason.size() + 16);
  append_version(out, version);
  out.push_back(' ');
  append_number(out, res.result_int());
  out.push_back(' ');
  out.append(reason).append("\r\n");
  serialize_rest(res, out);
}

void serialize(const request& req, std::string& out) {
  const unsigned version = req.version();
  const auto method = req.method_string();
  const auto target = req.target();
  out.reserve(out.size() + rest_size(req) + method.size() + target.size() + 16);
  out.append(method).append(" ").append(target).append(" ");
  append_version(out, version);
  out.append("\r\n");
  serialize_rest(req, out);
}

}  // namespace gw::net
