/*
 * The door from lib/ (C11) into shim/ (C++17 over libtorch). Plain C: pointers, numbers and
 * the public enums. Every function here is noexcept on the C++ side and fenced (shim/fence.hpp):
 * on failure it returns a df_status and leaves a message for dfs_last_error().
 * This header holds what every module shares (errors, threads, devices, tensors); each module's
 * functions are in its own shim/MODULE_shim.h, so that changing one module's door rebuilds only
 * the files that use that module.
 */
#ifndef DINOFEAT_SHIM_H
#define DINOFEAT_SHIM_H

#include "dinofeat/core.h"
#include "dinofeat/tensor.h"

#ifdef __cplusplus
#define DFS_NOEXCEPT noexcept
extern "C" {
#else
#define DFS_NOEXCEPT
#endif

/* A tensor's memory as lib/ sees it: enough to build a from_blob view or a df_tensor_view. */
typedef struct dfs_tensor_desc {
    void *data;
    int32_t ndim;
    int64_t shape[DF_TENSOR_MAX_DIMS];
    int64_t strides[DF_TENSOR_MAX_DIMS]; /* in elements */
    df_dtype dtype;
    df_device_type device_type;
    int32_t device_id;
} dfs_tensor_desc;

/* An owned libtorch tensor; released with dfs_tensor_release. */
typedef struct dfs_tensor dfs_tensor;

/* Borrowed: the message of the shim's last failure on this thread. */
const char *dfs_last_error(void) DFS_NOEXCEPT;

/* Borrowed static strings. */
const char *dfs_torch_version(void) DFS_NOEXCEPT;
int dfs_cuda_device_count(void) DFS_NOEXCEPT;

df_status dfs_set_num_threads(int num_threads) DFS_NOEXCEPT;
/* libtorch's intra-op pool size (sized on first use, see shim/fence.hpp). */
int dfs_get_num_threads(void) DFS_NOEXCEPT;
/* The CPU blocks kept for reuse (shim/cpu_pool.hpp): their bytes; give them back. */
size_t dfs_memory_cached(void) DFS_NOEXCEPT;
void dfs_memory_release(void) DFS_NOEXCEPT;

/* DF_OK when the device exists in this build and machine; DF_E_UNSUPPORTED otherwise. */
df_status dfs_device_check(df_device_type device_type, int32_t device_id) DFS_NOEXCEPT;

/* A zero-filled contiguous tensor. */
df_status dfs_tensor_zeros(int32_t ndim, const int64_t *shape, df_dtype dtype,
                           df_device_type device_type, int32_t device_id, dfs_tensor **out,
                           dfs_tensor_desc *out_desc) DFS_NOEXCEPT;
/* A contiguous copy of src on another device and/or with another dtype. */
df_status dfs_tensor_convert(const dfs_tensor_desc *src, df_device_type device_type,
                             int32_t device_id, df_dtype dtype, dfs_tensor **out,
                             dfs_tensor_desc *out_desc) DFS_NOEXCEPT;
/* Every element of src, as float32, row-major, into host memory dst (numel floats). */
df_status dfs_tensor_copy_to_host_f32(const dfs_tensor_desc *src, float *dst) DFS_NOEXCEPT;
/* Does nothing for NULL. */
void dfs_tensor_release(dfs_tensor *tensor) DFS_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif
