#include "gateway/runtime/memory.hpp"

#include <malloc.h>

// gperftools' C entry point: defined when tcmalloc is linked (GATEWAY_MALLOC,
// CMakeLists.txt), null otherwise.
extern "C" void MallocExtension_ReleaseFreeMemory(void) __attribute__((weak));

namespace gw::runtime {

void release_free_memory() noexcept {
  if (MallocExtension_ReleaseFreeMemory != nullptr)
    MallocExtension_ReleaseFreeMemory();
  else
    ::malloc_trim(0);
}

}  // namespace gw::runtime
