#include "gateway/runtime/thread_name.hpp"

#include <pthread.h>

#include <algorithm>

namespace gw::runtime {

namespace {
void set_name(pthread_t thread, std::string_view name) noexcept {
  char buf[16];  // the kernel's limit, with the terminating zero
  auto n = std::min(name.size(), sizeof buf - 1);
  std::copy_n(name.data(), n, buf);
  buf[n] = '\0';
  ::pthread_setname_np(thread, buf);
}
}  // namespace

void name_this_thread(std::string_view name) noexcept { set_name(::pthread_self(), name); }

void name_thread(std::thread& t, std::string_view name) noexcept {
  set_name(t.native_handle(), name);
}

std::string this_thread_name() {
  char buf[16] = {};
  if (::pthread_getname_np(::pthread_self(), buf, sizeof buf) != 0) return {};
  return buf;
}

}  // namespace gw::runtime
