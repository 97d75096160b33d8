// Messages to bytes, the way Beast's serializer writes them.
#include "gateway/net/http_wire.hpp"

#include <cstdio>

namespace gw::net {

namespace {
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
    char size[20];
    int n = std::snprintf(size, sizeof size, "%zx\r\n", body.size());
    out.append(size, static_cast<std::size_t>(n)).append(body).append("\r\n");
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
  char head[24];
  int n = std::snprintf(head, sizeof head, "HTTP/%u.%u %u ", version / 10, version % 10,
                        res.result_int());
  out.append(head, static_cast<std::size_t>(n)).append(reason).append("\r\n");
  serialize_rest(res, out);
}

void serialize(const request& req, std::string& out) {
  const unsigned version = req.version();
  const auto method = req.method_string();
  const auto target = req.target();
  out.reserve(out.size() + rest_size(req) + method.size() + target.size() + 16);
  char tail[24];
  int n = std::snprintf(tail, sizeof tail, " HTTP/%u.%u\r\n", version / 10, version % 10);
  out.append(method).append(" ").append(target).append(tail, static_cast<std::size_t>(n));
  serialize_rest(req, out);
}

}  // namespace gw::net
