// Status codes and stable codes for each HTTP error, and the JSON body.
#include "protocol/http_errors.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace gw::protocol {

namespace {
struct error_entry {
  std::uint16_t status;
  std::string_view code;
};

constexpr error_entry table[] = {
    {400, "bad_request"},        {400, "unsupported_subprotocol"},
    {401, "bad_signature"},      {401, "unauthorized"},
    {403, "forbidden"},          {404, "not_found"},
    {405, "method_not_allowed"}, {409, "conflict"},
    {408, "request_timeout"},    {413, "payload_too_large"},
    {426, "upgrade_required"},   {431, "header_too_large"},
    {500, "internal"},           {503, "unavailable"},
};
static_assert(std::size(table) == static_cast<std::size_t>(http_error::unavailable) + 1);
}  // namespace

std::uint16_t status_of(http_error e) noexcept { return table[static_cast<int>(e)].status; }
std::string_view code_of(http_error e) noexcept { return table[static_cast<int>(e)].code; }

std::string error_body(http_error e, std::string_view message) {
  boost::json::object body;
  body["error"] = code_of(e);
  body["message"] = message;
  return boost::json::serialize(body);
}

}  // namespace gw::protocol
