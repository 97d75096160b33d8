// The fast path of the WhatsApp webhook parser: text messages, read as the
// JSON streams by (Boost.JSON's basic_parser with a handler), without
// building a document. It accepts only what it reads exactly as the document
// parser would: text messages with their contacts and context, in any key
// order, unknown keys skipped. Anything else (another message type, statuses,
// another field, a duplicate key, a value of an unexpected type, an error)
// makes it give up, and the document parser reads the body instead; the fuzz
// target checks that whatever this path accepts, the other reads the same.
#include <boost/json/basic_parser_impl.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/whatsapp_webhook.hpp"

namespace gw::protocol::detail {

namespace {

namespace json = boost::json;
using json::error_code;

// The objects and arrays the fast path reads; everything else is skipped.
enum class node : std::uint8_t {
  top,
  entries,
  entry,
  changes,
  change,
  value,
  metadata,
  contacts,
  contact,
  profile,
  messages,
  message,
  text,
  context,
};

// The keys it reads, each a bit in its object's set of keys seen.
enum class key : std::uint8_t {
  other,
  object,
  entry,
  changes,
  field,
  value,
  metadata,
  phone_number_id,
  contacts,
  wa_id,
  profile,
  name,
  messages,
  statuses,
  from,
  id,
  type,
  timestamp,
  text,
  body,
  context,
};

key key_in(node n, std::string_view k) {
  switch (n) {
    case node::top:
      if (k == "object") return key::object;
      if (k == "entry") return key::entry;
      break;
    case node::entry:
      if (k == "changes") return key::changes;
      break;
    case node::change:
      if (k == "field") return key::field;
      if (k == "value") return key::value;
      break;
    case node::value:
      if (k == "metadata") return key::metadata;
      if (k == "contacts") return key::contacts;
      if (k == "messages") return key::messages;
      if (k == "statuses") return key::statuses;
      break;
    case node::metadata:
      if (k == "phone_number_id") return key::phone_number_id;
      break;
    case node::contact:
      if (k == "wa_id") return key::wa_id;
      if (k == "profile") return key::profile;
      break;
    case node::profile:
      if (k == "name") return key::name;
      break;
    case node::message:
      if (k == "from") return key::from;
      if (k == "id") return key::id;
      if (k == "type") return key::type;
      if (k == "timestamp") return key::timestamp;
      if (k == "text") return key::text;
      if (k == "context") return key::context;
      break;
    case node::text:
      if (k == "body") return key::body;
      break;
    case node::context:
      if (k == "id") return key::id;
      break;
    default:
      break;
  }
  return key::other;
}

struct contact_seen {
  std::string wa_id;
  bool has_profile = false;
  std::string name;
};

class handler {
 public:
  static constexpr std::size_t max_array_size = -1;
  static constexpr std::size_t max_object_size = -1;
  static constexpr std::size_t max_string_size = -1;
  static constexpr std::size_t max_key_size = -1;

  wa_webhook out;

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }

  bool on_object_begin(error_code& ec) {
    if (skips_value()) return ++skip_, true;
    auto n = depth_ == 0 ? std::optional(node::top) : object_in(top(), key_);
    if (!n) return give_up(ec);  // an object where a string or an array belongs
    if (*n == node::contact) contact_ = {};
    if (*n == node::message) message_ = {};
    if (*n == node::value) value_first_ = out.messages.size();
    if (*n == node::profile) contact_.has_profile = true;
    push(*n);
    return true;
  }

  bool on_object_end(std::size_t, error_code& ec) {
    if (skip_) return --skip_, true;  // the end of a value this path does not read
    node n = top();
    --depth_;
    switch (n) {
      case node::top:
        return (object_ok_ && closed_with(key::entry)) || give_up(ec);
      case node::entry:
        return closed_with(key::changes) || give_up(ec);
      case node::change: {
        // Only a change with field "messages" and an object value counts;
        // the document parser counts the others as ignored: give up.
        if (!field_messages_ || !seen_in_[depth_].value) return give_up(ec);
        field_messages_ = false;
        return true;
      }
      case node::value: {
        if (number_id_.empty()) return give_up(ec);  // the document parser's error
        // This value's messages, now that its metadata and contacts are known.
        for (auto i = value_first_; i < out.messages.size(); ++i) {
          auto& m = out.messages[i];
          m.phone_number_id = number_id_;
          for (const auto& c : contacts_)  // the last contact of that number wins
            if (c.has_profile && c.wa_id == m.from) m.contact_name = c.name;
        }
        contacts_.clear();
        number_id_.clear();
        return true;
      }
      case node::contact:
        contacts_.push_back(std::move(contact_));
        return true;
      case node::message: {
        auto& m = message_;
        if (m.from.empty() || m.id.empty() || m.type != "text") return give_up(ec);
        out.messages.push_back(std::move(m));
        return true;
      }
      default:
        return true;
    }
  }

  bool on_array_begin(error_code& ec) {
    if (skips_value()) return ++skip_, true;
    auto n = depth_ == 0 ? std::nullopt : array_in(top(), key_);
    if (!n) return give_up(ec);  // statuses, or an array where another value belongs
    push(*n);
    return true;
  }

  bool on_array_end(std::size_t, error_code&) {
    if (skip_) return --skip_, true;
    --depth_;
    return true;
  }

  bool on_key_part(json::string_view s, std::size_t, error_code&) {
    part_.append(s.data(), s.size());
    return true;
  }

  bool on_key(json::string_view s, std::size_t, error_code& ec) {
    if (skip_) return part_.clear(), true;
    std::string_view k(s.data(), s.size());
    if (!part_.empty()) k = part_.append(k);
    key_ = key_in(top(), k);
    part_.clear();
    if (key_ == key::other) return true;
    // A key given twice: which one the document keeps is its business.
    auto bit = std::uint32_t{1} << static_cast<unsigned>(key_);
    if (seen_in_[depth_ - 1].keys & bit) return give_up(ec);
    seen_in_[depth_ - 1].keys |= bit;
    return true;
  }

  bool on_string_part(json::string_view s, std::size_t, error_code&) {
    if (!skips_value()) part_.append(s.data(), s.size());
    return true;
  }

  bool on_string(json::string_view s, std::size_t, error_code& ec) {
    if (skips_value()) return part_.clear(), true;
    if (depth_ == 0 || is_array(top())) return give_up(ec);
    std::string_view v(s.data(), s.size());
    if (!part_.empty()) v = part_.append(v);
    bool ok = string_value(v);
    part_.clear();
    return ok || give_up(ec);
  }

  bool on_number_part(json::string_view, error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, error_code& ec) { return scalar(ec); }
  bool on_uint64(std::uint64_t, json::string_view, error_code& ec) { return scalar(ec); }
  bool on_double(double, json::string_view, error_code& ec) { return scalar(ec); }
  bool on_bool(bool, error_code& ec) { return scalar(ec); }
  bool on_null(error_code& ec) { return scalar(ec); }
  bool on_comment_part(json::string_view, error_code&) { return true; }
  bool on_comment(json::string_view, error_code&) { return true; }

 private:
  struct seen_keys {
    std::uint32_t keys = 0;
    bool value = false;  // change: its value was an object
  };
  // The deepest path it reads: top, entries, entry, changes, change, value,
  // messages, message, text (or contacts, contact, profile).
  static constexpr std::size_t max_depth = 9;

  static bool is_array(node n) {
    return n == node::entries || n == node::changes || n == node::contacts || n == node::messages;
  }
  node top() const { return stack_[depth_ - 1]; }
  // Whether the value starting here is one this path does not read: inside
  // such a value already, or under a key it does not know.
  bool skips_value() const {
    return skip_ || (depth_ > 0 && !is_array(top()) && key_ == key::other);
  }
  // What an object or an array opened under `parent` (at `k`) is; nothing
  // for one the document parser would read differently.
  static std::optional<node> object_in(node parent, key k) {
    switch (parent) {
      case node::entries:
        return node::entry;
      case node::changes:
        return node::change;
      case node::contacts:
        return node::contact;
      case node::messages:
        return node::message;
      default:
        break;
    }
    switch (k) {
      case key::value:
        return node::value;
      case key::metadata:
        return node::metadata;
      case key::profile:
        return node::profile;
      case key::text:
        return node::text;
      case key::context:
        return node::context;
      default:
        return std::nullopt;
    }
  }
  static std::optional<node> array_in(node parent, key k) {
    if (is_array(parent)) return std::nullopt;
    switch (k) {
      case key::entry:
        return node::entries;
      case key::changes:
        return node::changes;
      case key::contacts:
        return node::contacts;
      case key::messages:
        return node::messages;
      default:
        return std::nullopt;
    }
  }
  void push(node n) {
    if (n == node::value) seen_in_[depth_ - 1].value = true;
    stack_[depth_] = n;
    seen_in_[depth_] = {};
    ++depth_;
  }
  // Whether the object just closed (its frame is at depth_ now) had key k.
  bool closed_with(key k) const {
    return seen_in_[depth_].keys & (std::uint32_t{1} << static_cast<unsigned>(k));
  }
  static bool give_up(error_code& ec) {
    ec = json::error::syntax;  // any error: the caller only needs to know it stopped
    return false;
  }

  // Any scalar but a string: fine under a key this path does not read;
  // anywhere else (a number where a string or an object belongs, or in one
  // of the arrays) the document parser would read it differently: give up.
  bool scalar(error_code& ec) { return skips_value() || give_up(ec); }

  bool string_value(std::string_view v) {
    switch (key_) {
      case key::object:
        object_ok_ = v == "whatsapp_business_account";
        return object_ok_;
      case key::field:
        field_messages_ = v == "messages";
        return field_messages_;
      case key::phone_number_id:
        number_id_ = v;
        return true;
      case key::wa_id:
        contact_.wa_id = v;
        return true;
      case key::name:
        contact_.name = v;
        return true;
      case key::from:
        message_.from = v;
        return true;
      case key::id:
        (top() == node::message ? message_.id : message_.context_id) = v;
        return true;
      case key::type:  // another type is the document parser's at once
        message_.type = v;
        return v == "text";
      case key::timestamp:
        message_.timestamp = unix_seconds(v);
        return true;
      case key::body:
        message_.text = v;
        return true;
      default:
        return false;  // a string where an object or an array belongs
    }
  }

  node stack_[max_depth]{};
  seen_keys seen_in_[max_depth]{};
  std::size_t depth_ = 0;
  std::size_t skip_ = 0;  // depth inside a value this path does not read
  key key_ = key::other;  // the last key read in the current object
  std::string part_;      // a key or string that came in parts
  bool object_ok_ = false;
  bool field_messages_ = false;
  std::string number_id_;
  contact_seen contact_;
  wa_message message_;
  std::vector<contact_seen> contacts_;
  std::size_t value_first_ = 0;  // the current value's first message in out.messages
};

}  // namespace

std::optional<wa_webhook> parse_whatsapp_text_fast(std::string_view body) {
  json::basic_parser<handler> p(json::parse_options{});
  error_code ec;
  auto n = p.write_some(false, body.data(), body.size(), ec);
  if (ec || n != body.size() || !p.done()) return std::nullopt;
  return std::move(p.handler().out);
}

}  // namespace gw::protocol::detail
