// A shard's append-only log as the conversation core sees it: a stream of
// the shared event journal implements it, a Redis stream could. append()'s
// durability contract is written down in journal.hpp.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <system_error>

#include "gateway/store/record.hpp"

namespace gw::store {

class shard_log {
 public:
  using done_fn = std::function<void(std::error_code, std::uint64_t lsn)>;
  virtual ~shard_log() = default;
  // From the shard's thread. LSNs increase; the shards' logs may share one
  // sequence, so a shard's own records need not be consecutive.
  virtual void append(record_type type, std::string_view payload, done_fn done) = 0;
  virtual bool failed() const noexcept = 0;
  // Records up to `lsn` are in a saved snapshot and may be discarded. Any
  // thread (the snapshot writer calls it: deleting files and syncing the
  // directory must not block a shard).
  virtual void release_through(std::uint64_t lsn) = 0;
};

}  // namespace gw::store
