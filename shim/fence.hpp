// The C++ exception fence: every extern "C" entry point of the shim runs its body through
// DFS_FENCE, so no exception ever crosses into C. Catch order follows PyTorch's AOTInductor shim:
// c10 errors first, for their message without the C++ backtrace.
#pragma once

#include "cpu_pool.hpp"
#include "df_shim.h"

#include <c10/util/Exception.h>

#include <exception>
#include <new>
#include <string>

namespace dfs {

// Records message for dfs_last_error() and returns status.
df_status fail(df_status status, const std::string &message) noexcept;

// libtorch starts with a single intra-op thread; the first call into the shim sizes the pool to
// one thread per core, unless OMP_NUM_THREADS or df_set_num_threads has chosen already.
void ensure_thread_pool();

template <class Body>
df_status fence(const char *function, Body &&body) noexcept {
    try {
        ensure_thread_pool();
        cpu_pool_scope pool;
        return body();
    } catch (const c10::OutOfMemoryError &e) {
        return fail(DF_E_OUT_OF_MEMORY, std::string(function) + ": " + e.what_without_backtrace());
    } catch (const c10::Error &e) {
        return fail(DF_E_INTERNAL, std::string(function) + ": " + e.what_without_backtrace());
    } catch (const std::bad_alloc &) {
        return fail(DF_E_OUT_OF_MEMORY, std::string(function) + ": out of memory");
    } catch (const std::exception &e) {
        return fail(DF_E_INTERNAL, std::string(function) + ": " + e.what());
    } catch (...) {
        return fail(DF_E_INTERNAL, std::string(function) + ": unknown C++ exception");
    }
}

}  // namespace dfs

// Usage: df_status dfs_x(...) noexcept { DFS_FENCE({ ...; return DF_OK; }); }
#define DFS_FENCE(...) return dfs::fence(__func__, [&]() -> df_status __VA_ARGS__)
