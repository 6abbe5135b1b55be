// The CPU allocator behind cpu_pool_scope, installed as libtorch's CPU allocator the first time a
// scope begins; outside a scope it allocates and frees as libtorch's own does (64-byte aligned).
// Each block carries a header with its size and whether it returns to the pool, so that the data
// pointer is also the deleter's context (libtorch's raw_allocate interface keeps working) and a
// block freed on another thread or outside a scope still finds its way.
#include "cpu_pool.hpp"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <torch/version.h>

#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace {

constexpr size_t kAlignment = 64;                  // libtorch's CPU alignment
constexpr size_t kPooledBytes = size_t(64) << 10; // smaller blocks stay in glibc's heap anyway

struct pool_state {
    std::mutex mutex;
    size_t cached = 0;
    std::unordered_map<size_t, std::vector<void *>> free_blocks; // block bases by size
};

// Never destroyed: blocks may be freed while the process exits.
pool_state &pool() {
    static pool_state *state = new pool_state();
    return *state;
}

struct alignas(kAlignment) header {
    size_t bytes;
    bool pooled;
};
static_assert(sizeof(header) == kAlignment, "the header keeps the data 64-byte aligned");

thread_local int scope_depth = 0;

void release(void *data) {
    if (data == nullptr) return;
    header *h = static_cast<header *>(data) - 1;
    if (h->pooled) {
        pool_state &p = pool();
        std::lock_guard<std::mutex> lock(p.mutex);
        if (p.cached + h->bytes <= dfs::kCpuPoolBytes) {
            p.free_blocks[h->bytes].push_back(h);
            p.cached += h->bytes;
            return;
        }
    }
    std::free(h);
}

// The size class of a pooled request: rounded up to an eighth of its power of two, so that blocks
// a few tokens apart (a grid with and without its [CLS] row) serve each other, at most 12.5% over.
size_t size_class(size_t bytes) {
    size_t power = kPooledBytes;
    while (power <= bytes / 2) power *= 2;
    const size_t step = power / 8;
    return (bytes + step - 1) / step * step;
}

void *take_cached(size_t bytes) {
    pool_state &p = pool();
    std::lock_guard<std::mutex> lock(p.mutex);
    auto found = p.free_blocks.find(bytes);
    if (found == p.free_blocks.end() || found->second.empty()) return nullptr;
    void *base = found->second.back();
    found->second.pop_back();
    p.cached -= bytes;
    return base;
}

class pooling_allocator final : public c10::Allocator {
public:
    c10::DataPtr allocate(size_t bytes) const override {
        if (bytes == 0) return {nullptr, nullptr, &release, c10::Device(c10::DeviceType::CPU)};
        const bool pooled = scope_depth > 0 && bytes >= kPooledBytes && bytes <= SIZE_MAX / 2;
        const size_t size = pooled ? size_class(bytes) : bytes;
        void *base = pooled ? take_cached(size) : nullptr;
        if (base == nullptr && (size > SIZE_MAX - kAlignment || posix_memalign(&base, kAlignment, kAlignment + size) != 0))
            throw std::bad_alloc();
        header *h = static_cast<header *>(base);
        h->bytes = size, h->pooled = pooled;
        void *data = h + 1;
        return {data, data, &release, c10::Device(c10::DeviceType::CPU)};
    }

    c10::DeleterFnPtr raw_deleter() const override { return &release; }

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
    void copy_data(void *dest, const void *src, std::size_t count) const override { default_copy_data(dest, src, count); }
#endif
};

void install_once() {
    static std::once_flag installed;
    std::call_once(installed, [] {
        static pooling_allocator *allocator = new pooling_allocator(); // outlives libtorch's own statics
        c10::SetCPUAllocator(allocator, 0);
    });
}

}  // namespace

namespace dfs {

cpu_pool_scope::cpu_pool_scope() {
    install_once();
    scope_depth++;
}

cpu_pool_scope::~cpu_pool_scope() { scope_depth--; }

size_t cpu_pool_cached_bytes() {
    pool_state &p = pool();
    std::lock_guard<std::mutex> lock(p.mutex);
    return p.cached;
}

void cpu_pool_release() {
    pool_state &p = pool();
    std::lock_guard<std::mutex> lock(p.mutex);
    for (auto &entry : p.free_blocks)
        for (void *base : entry.second) std::free(base);
    p.free_blocks.clear();
    p.cached = 0;
}

}  // namespace dfs
