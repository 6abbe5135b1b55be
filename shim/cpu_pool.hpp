// Reuse of freed CPU blocks by the library's calls (shim/cpu_pool.cpp).
#pragma once

#include <cstddef>

namespace dfs {

// While one lives on a thread (nested ones count once), libtorch's CPU allocations of 64 KB and
// more on that thread reuse blocks of their size class (cpu_pool.cpp) that the library's calls
// freed, and the blocks they free are kept for reuse, up to kCpuPoolBytes in all. Why: glibc
// hands blocks of a few MB back to the system when they are freed, so every tensor of a forward
// pass was a fresh mapping faulted in page by page: a third of a ViT forward's time on a virtual
// machine. The sizes repeat (twelve alike transformer blocks, the views of one image, the images
// of a dataset).
class cpu_pool_scope {
public:
    cpu_pool_scope();
    ~cpu_pool_scope();
    cpu_pool_scope(const cpu_pool_scope &) = delete;
    cpu_pool_scope &operator=(const cpu_pool_scope &) = delete;
};

constexpr size_t kCpuPoolBytes = size_t(256) << 20;

// The bytes the pool holds for reuse now.
size_t cpu_pool_cached_bytes();
// Gives every block the pool holds back to the system.
void cpu_pool_release();

}  // namespace dfs
