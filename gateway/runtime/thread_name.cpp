#include "gateway/runtime/thread_name.hpp"

#include <pthread.h>

#include <algorithm>

namespace gw::runtime {

void name_this_thread(std::string_view name) noexcept {
  char buf[16];  // the kernel's limit, with the terminating zero
  auto n = std::min(name.size(), sizeof buf - 1);
  std::copy_n(name.data(), n, buf);
  buf[n] = '\0';
  ::pthread_setname_np(::pthread_self(), buf);
}

std::string this_thread_name() {
  char buf[16] = {};
  if (::pthread_getname_np(::pthread_self(), buf, sizeof buf) != 0) return {};
  return buf;
}

}  // namespace gw::runtime
