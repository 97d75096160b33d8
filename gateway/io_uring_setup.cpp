// How Asio's rings are set up. Asio creates each io_context's ring with
// io_uring_queue_init(entries, ring, 0) and has no hook for setup flags, so
// the link wraps that one call (-Wl,--wrap=io_uring_queue_init, in
// gateway/CMakeLists.txt) and adds two:
//
//   IORING_SETUP_COOP_TASKRUN  a completion that arrives while the ring's
//     thread runs in user space (a socket's data, taken in by another
//     core's softirq) no longer interrupts it with an IPI to run the
//     completion's task work there and then; the work waits until the
//     thread next enters the kernel. A sleeping thread is still woken.
//   IORING_SETUP_TASKRUN_FLAG  the kernel flags the ring while such work
//     waits, and liburing's io_uring_peek_cqe then enters the kernel to
//     run it, so Asio's non-blocking poll between handlers still sees
//     every completion at once.
//
// An event loop that enters the kernel all the time anyway (every batch of
// sends and receives is an io_uring_enter) loses nothing by the wait, and
// saves an interrupt, a pass through the signal path and a cache-cold
// return to user space per completion (bench/PROFILE.md, "io_uring without
// interrupts"). A kernel older than 5.19 refuses the flags: the ring is then
// set up as Asio asked.
#include <liburing.h>

#include <cerrno>
#include <cstring>

extern "C" {

int __real_io_uring_queue_init(unsigned entries, struct io_uring* ring, unsigned flags);

int __wrap_io_uring_queue_init(unsigned entries, struct io_uring* ring, unsigned flags) {
  io_uring_params p;
  std::memset(&p, 0, sizeof p);
  p.flags = flags | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
  int r = io_uring_queue_init_params(entries, ring, &p);
  if (r == -EINVAL) return __real_io_uring_queue_init(entries, ring, flags);
  return r;
}
}
