// Directory: replay, single-writer changes, durable answers.
#include "gateway/domain/directory_service.hpp"

#include <filesystem>

#include <boost/asio/post.hpp>
#include <stdexcept>

namespace gw::domain {

directory_service::directory_service(std::string dir, boost::asio::io_context& writer,
                                     store::journal_options tuning)
    : dir_(std::move(dir)), writer_(writer), tuning_(std::move(tuning)) {
  tuning_.dir = dir_;
  tuning_.thread_name = "gw-sync-dir";
}

directory_service::~directory_service() = default;

std::size_t directory_service::recover() {
  // The journal holds channel secrets (webhooks are verified with them):
  // only the gateway's own user may read it.
  std::filesystem::create_directories(dir_);
  std::filesystem::permissions(dir_, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace);
  std::size_t n = 0;
  auto result = store::recover_journal(dir_, 1, [&](const store::record_view& rec) {
    auto c = rec.type == store::record_type::directory ? decode_directory_change(rec.payload)
                                                       : std::nullopt;
    if (!c)
      throw std::runtime_error("directory journal record " + std::to_string(rec.lsn) +
                               " is not a directory change");
    apply(state_, *c);
    ++n;
  });
  generation_.fetch_add(1, std::memory_order_release);
  journal_ = std::make_unique<store::journal>(writer_, tuning_, result);
  return n;
}

void directory_service::submit(directory_change c, done_fn done) {
  boost::asio::post(writer_, [this, c = std::move(c), done = std::move(done)]() mutable {
    if (!journal_) return done(std::make_error_code(std::errc::resource_unavailable_try_again), {});
    {
      std::unique_lock lock(mu_);
      if (auto problem = check(state_, c)) return done({}, std::move(*problem));
      apply(state_, c);
      generation_.fetch_add(1, std::memory_order_release);
    }
    auto revoked = c.what == directory_change::kind::revoke_token ? c.token.id : std::string();
    journal_->append(store::record_type::directory, encode(c),
                     [this, revoked, done = std::move(done)](std::error_code ec, std::uint64_t) {
                       if (!ec && !revoked.empty() && revoked_) revoked_(revoked);
                       done(ec, {});
                     });
  });
}

}  // namespace gw::domain
