// The process's memory, as the allocator holds it.
#pragma once

namespace gw::runtime {

// Gives the allocator's free memory back to the system (tcmalloc when it is
// linked, else glibc's malloc). For after a burst of transient allocations,
// such as recovery, which reads a journal segment (up to 64 MiB) at a time:
// otherwise the allocator keeps those pages, counted as resident, until it
// gets round to releasing them.
void release_free_memory() noexcept;

}  // namespace gw::runtime
