// Route matching and the responder.
#include "gateway/net/router.hpp"

#include <boost/beast/version.hpp>

namespace gw::net {

namespace {
std::vector<std::string> split_segments(std::string_view path) {
  std::vector<std::string> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    auto slash = path.find('/');
    out.emplace_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash);
  }
  return out;
}

bool is_param(const std::string& seg) noexcept {
  return seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
}

// Matches one segment at a time without allocating.
bool match_path(const std::vector<std::string>& pattern, std::string_view path,
                request_context* ctx) {
  std::size_t i = 0;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    auto slash = path.find('/');
    auto seg = path.substr(0, slash);
    if (i >= pattern.size()) return false;
    const auto& p = pattern[i];
    if (is_param(p)) {
      if (ctx) ctx->params.emplace_back(std::string_view(p).substr(1, p.size() - 2), seg);
    } else if (p != seg) {
      return false;
    }
    ++i;
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash);
  }
  return i == pattern.size();
}
}  // namespace

responder::~responder() {
  if (send_) {
    auto send = std::move(send_);
    send_ = nullptr;
    send(make_error(protocol::http_error::internal, "the request was not answered"));
  }
}

void responder::operator()(response res) {
  if (!send_) return;  // answered already: the first answer wins
  auto send = std::move(send_);
  send_ = nullptr;
  send(std::move(res));
}

void responder::error(protocol::http_error e, std::string_view message) {
  (*this)(make_error(e, message));
}

void responder::json(http::status status, std::string body) {
  (*this)(make_response(status, std::move(body), "application/json"));
}

void responder::text(http::status status, std::string body, std::string_view content_type) {
  (*this)(make_response(status, std::move(body), content_type));
}

std::string_view request_context::param(std::string_view name) const noexcept {
  for (const auto& [k, v] : params)
    if (k == name) return v;
  return {};
}

response make_response(http::status status, std::string body, std::string_view content_type) {
  response res{status, 11};
  res.set(http::field::server, "gateway/" GATEWAY_VERSION);
  res.set(http::field::content_type, content_type);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

response make_error(protocol::http_error e, std::string_view message) {
  return make_response(static_cast<http::status>(protocol::status_of(e)),
                       protocol::error_body(e, message), "application/json");
}

router::router() { labels_.push_back("unmatched"); }

std::size_t router::label_index(const std::string& pattern) {
  for (std::size_t i = 1; i < labels_.size(); ++i)
    if (labels_[i] == pattern) return i;
  labels_.push_back(pattern);
  return labels_.size() - 1;
}

std::size_t router::add(http::verb method, std::string pattern, handler h, route_options opts) {
  auto index = label_index(pattern);
  entries_.push_back(
      {method, split_segments(pattern), index, false, std::move(h), std::move(opts)});
  return index;
}

std::size_t router::add_websocket(std::string pattern) {
  auto index = label_index(pattern);
  entries_.push_back({http::verb::get, split_segments(pattern), index, true, nullptr, {}});
  return index;
}

router::match router::find(http::verb method, std::string_view path, request_context* ctx) const {
  match m;
  for (const auto& e : entries_) {
    std::size_t captured = ctx ? ctx->params.size() : 0;
    if (!match_path(e.segments, path, ctx)) {
      if (ctx) ctx->params.resize(captured);
      continue;
    }
    m.index = e.index;
    if (e.method == method) {
      m.h = &e.h;
      m.options = &e.options;
      m.websocket = e.websocket;
      m.allow.clear();
      return m;
    }
    if (ctx) ctx->params.resize(captured);
    if (!m.allow.empty()) m.allow += ", ";
    m.allow += http::to_string(e.method);
  }
  return m;
}

std::pair<std::string_view, std::string_view> split_target(std::string_view target) noexcept {
  auto q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

}  // namespace gw::net
