/* What other lib/ modules need of df_tensor's insides. */
#ifndef DINOFEAT_LIB_TENSOR_INTERNAL_H
#define DINOFEAT_LIB_TENSOR_INTERNAL_H

#include "dinofeat/tensor.h"
#include "df_shim.h"

/* Parses "cpu", "cuda", "cuda:N" (NULL is "cpu"). */
df_status dfi_parse_device(const char *device, df_device_type *type, int32_t *id);
/* A contiguous host tensor over data; owned: freed with the tensor. On failure nothing is freed. */
df_status dfi_tensor_wrap_host(void *data, int owned, size_t ndim, const int64_t *shape,
                               df_dtype dtype, df_tensor **out);
/* Takes ownership of torch (released on failure too). */
df_status dfi_tensor_wrap_shim(dfs_tensor *torch, const dfs_tensor_desc *desc, df_tensor **out);
/* Borrowed: lives as long as the tensor. */
const dfs_tensor_desc *dfi_tensor_desc(const df_tensor *tensor);

#endif
