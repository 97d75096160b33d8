// Which CPUs a thread may run on.
#include "gateway/runtime/cpus.hpp"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

namespace gw::runtime {

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

void unpin_this_thread() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(::getpid(), sizeof set, &set) == 0)  // the main thread's
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

}  // namespace gw::runtime
