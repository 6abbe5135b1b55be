// Process-wide runtime: versions, thread pools, devices, and the shim's error message.
#include "fence.hpp"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/version.h>

#include <omp.h>

#include <atomic>
#include <cstdlib>
#include <mutex>

namespace {
thread_local std::string last_error;
std::atomic<bool> threads_chosen{false};
std::once_flag thread_pool_sized;
}  // namespace

namespace dfs {
df_status fail(df_status status, const std::string &message) noexcept {
    try {
        last_error = message;
    } catch (...) {
        // Keeping the status matters more than keeping the text when memory is exhausted.
    }
    return status;
}
void ensure_thread_pool() {
    std::call_once(thread_pool_sized, [] {
        if (threads_chosen.load() || std::getenv("OMP_NUM_THREADS") != nullptr) return;
        at::set_num_threads(omp_get_num_procs());
    });
}
}  // namespace dfs

extern "C" {

const char *dfs_last_error(void) noexcept { return last_error.c_str(); }

const char *dfs_torch_version(void) noexcept { return TORCH_VERSION; }

int dfs_cuda_device_count(void) noexcept {
    try {
        return at::hasCUDA() ? static_cast<int>(at::getNumGPUs()) : 0;
    } catch (...) {
        return 0;
    }
}

int dfs_get_num_threads(void) noexcept {
    try {
        dfs::ensure_thread_pool();
        return at::get_num_threads();
    } catch (...) {
        return 1;
    }
}

size_t dfs_memory_cached(void) noexcept { return dfs::cpu_pool_cached_bytes(); }

void dfs_memory_release(void) noexcept { dfs::cpu_pool_release(); }

df_status dfs_set_num_threads(int num_threads) noexcept {
    threads_chosen.store(true);
    DFS_FENCE({
        at::set_num_threads(num_threads);
        return DF_OK;
    });
}

df_status dfs_device_check(df_device_type device_type, int32_t device_id) noexcept {
    DFS_FENCE({
        if (device_type == DF_DEVICE_CPU)
            return device_id == 0 ? DF_OK : dfs::fail(DF_E_UNSUPPORTED, "there is only one cpu device (cpu:0)");
        if (device_type != DF_DEVICE_CUDA) return dfs::fail(DF_E_UNSUPPORTED, "unknown device type");
        int count = dfs_cuda_device_count();
#ifdef DFS_TORCH_HAS_CUDA
        if (count == 0)
            return dfs::fail(DF_E_UNSUPPORTED, "CUDA is not available: this build's libtorch (" TORCH_VERSION
                                               ") has CUDA, but the machine shows no GPU (or no driver)");
#else
        if (count == 0)
            return dfs::fail(DF_E_UNSUPPORTED, "CUDA is not available: this build's libtorch (" TORCH_VERSION
                                               ") has no CUDA; build with LIBTORCH=<a CUDA libtorch>");
#endif
        if (device_id < 0 || device_id >= count)
            return dfs::fail(DF_E_UNSUPPORTED, "cuda:" + std::to_string(device_id) + " does not exist (" +
                                                   std::to_string(count) + " CUDA device(s))");
        return DF_OK;
    });
}

}  // extern "C"
