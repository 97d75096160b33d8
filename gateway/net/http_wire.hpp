// HTTP/1.1 on the wire, for the server's sessions and the client pool:
// messages serialised into one buffer, and parsing what a read already
// brought without another asynchronous read.
#pragma once

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <string>

#include "gateway/net/router.hpp"

namespace gw::net {

// Appends a message to `out` as it goes on the wire: start line, fields as
// they are, the body (as one chunk when the message is chunked). The same
// bytes as Beast's serializer, in one buffer: a connection writes a message
// with one send instead of walking the serializer's buffer sequence.
void serialize(const response& res, std::string& out);
void serialize(const request& req, std::string& out);

// Feeds `parser` what `buffer` holds, up to the end of the header (or of
// the whole message), and consumes it. A small message usually arrives
// whole with the read that found it and needs no asynchronous read (with
// its timer and its posted completion) to be parsed. True when that part
// is complete or the parser failed (`ec`); false when more bytes must be
// read (Beast's asynchronous read carries on from the parser's state).
// `used` adds up the bytes consumed.
template <class Parser>
bool parse_buffered(Parser& parser, boost::beast::flat_buffer& buffer, bool whole,
                    boost::beast::error_code& ec, std::size_t& used) {
  parser.eager(whole);
  auto complete = [&] { return whole ? parser.is_done() : parser.is_header_done(); };
  while (!complete() && buffer.size() > 0) {
    auto n = parser.put(buffer.data(), ec);
    buffer.consume(n);
    used += n;
    if (ec == boost::beast::http::error::need_more || (!ec && n == 0)) {
      ec = {};
      return false;  // no progress without more bytes
    }
    if (ec) return true;
  }
  return complete();
}

}  // namespace gw::net
