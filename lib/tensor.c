/* df_tensor: host memory owned or borrowed by lib/, or a tensor owned by libtorch (shim). */
#include "internal.h"
#include "tensor_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct df_tensor {
    dfs_tensor_desc desc;
    char device_name[24];
    void *owned_host;   /* malloc'ed memory this tensor frees, or NULL */
    dfs_tensor *torch;  /* libtorch tensor this tensor releases, or NULL */
};

df_status dfi_parse_device(const char *device, df_device_type *type, int32_t *id) {
    if (device == NULL || strcmp(device, "cpu") == 0) {
        *type = DF_DEVICE_CPU;
        *id = 0;
        return DF_OK;
    }
    if (strcmp(device, "cuda") == 0) {
        *type = DF_DEVICE_CUDA;
        *id = 0;
        return DF_OK;
    }
    if (strncmp(device, "cuda:", 5) == 0 && device[5] >= '0' && device[5] <= '9') {
        char *end;
        long value = strtol(device + 5, &end, 10);
        if (*end == '\0' && value <= 1023) {
            *type = DF_DEVICE_CUDA;
            *id = (int32_t)value;
            return DF_OK;
        }
    }
    return dfi_error(DF_E_INVALID_ARG, "'%s' is not a device: use \"cpu\", \"cuda\" or \"cuda:N\"",
                     device);
}

static void name_device(df_tensor *tensor) {
    if (tensor->desc.device_type == DF_DEVICE_CUDA)
        snprintf(tensor->device_name, sizeof tensor->device_name, "cuda:%d",
                 (int)tensor->desc.device_id);
    else
        snprintf(tensor->device_name, sizeof tensor->device_name, "cpu");
}

/* Validates a shape and returns its element count. */
static df_status check_shape(size_t ndim, const int64_t *shape, size_t element_size,
                             size_t *numel) {
    if (ndim > DF_TENSOR_MAX_DIMS)
        return dfi_error(DF_E_INVALID_ARG, "ndim %zu exceeds DF_TENSOR_MAX_DIMS (%d)", ndim,
                         DF_TENSOR_MAX_DIMS);
    if (ndim > 0 && shape == NULL) return dfi_error(DF_E_INVALID_ARG, "shape is NULL");
    size_t count = 1;
    for (size_t i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return dfi_error(DF_E_INVALID_ARG, "shape[%zu] is negative (%lld)", i,
                             (long long)shape[i]);
        size_t bytes;
        if (dfi_mul_size(count, (size_t)shape[i], &count) != 0 ||
            dfi_mul_size(count, element_size, &bytes) != 0)
            return dfi_error(DF_E_INVALID_ARG, "shape is too large for this machine's memory");
    }
    *numel = count;
    return DF_OK;
}

static void fill_contiguous_desc(dfs_tensor_desc *desc, void *data, size_t ndim,
                                 const int64_t *shape, df_dtype dtype) {
    memset(desc, 0, sizeof *desc);
    desc->data = data;
    desc->ndim = (int32_t)ndim;
    desc->dtype = dtype;
    desc->device_type = DF_DEVICE_CPU;
    int64_t stride = 1;
    for (size_t i = ndim; i-- > 0;) {
        desc->shape[i] = shape[i];
        desc->strides[i] = stride;
        stride *= shape[i] > 0 ? shape[i] : 1;
    }
}

df_status dfi_tensor_wrap_host(void *data, int owned, size_t ndim, const int64_t *shape,
                               df_dtype dtype, df_tensor **out) {
    df_tensor *tensor = calloc(1, sizeof *tensor);
    if (tensor == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    fill_contiguous_desc(&tensor->desc, data, ndim, shape, dtype);
    tensor->owned_host = owned ? data : NULL;
    name_device(tensor);
    *out = tensor;
    return DF_OK;
}

df_status dfi_tensor_wrap_shim(dfs_tensor *torch, const dfs_tensor_desc *desc, df_tensor **out) {
    df_tensor *tensor = calloc(1, sizeof *tensor);
    if (tensor == NULL) {
        dfs_tensor_release(torch);
        return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    }
    tensor->desc = *desc;
    tensor->torch = torch;
    name_device(tensor);
    *out = tensor;
    return DF_OK;
}

const dfs_tensor_desc *dfi_tensor_desc(const df_tensor *tensor) { return &tensor->desc; }

df_status df_tensor_new(size_t ndim, const int64_t *shape, df_dtype dtype, const char *device,
                        df_tensor **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    size_t element_size = df_dtype_size(dtype), numel;
    if (element_size == 0)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "%d is not a df_dtype", (int)dtype));
    df_device_type type;
    int32_t id;
    df_status status = check_shape(ndim, shape, element_size, &numel);
    if (status == DF_OK) status = dfi_parse_device(device, &type, &id);
    if (status != DF_OK) DFI_RETURN(status);
    if (type == DF_DEVICE_CPU) {
        void *data = calloc(numel ? numel : 1, element_size);
        if (data == NULL) DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "cannot allocate %zu elements", numel));
        status = dfi_tensor_wrap_host(data, 1, ndim, shape, dtype, out);
        if (status != DF_OK) free(data);
        DFI_RETURN(status);
    }
    status = dfs_device_check(type, id);
    dfs_tensor *torch = NULL;
    dfs_tensor_desc desc;
    if (status == DF_OK) status = dfs_tensor_zeros((int32_t)ndim, shape, dtype, type, id, &torch, &desc);
    if (status != DF_OK) DFI_RETURN(dfi_error(status, "%s", dfs_last_error()));
    DFI_RETURN(dfi_tensor_wrap_shim(torch, &desc, out));
}

static df_status host_float_tensor(const float *data, size_t ndim, const int64_t *shape, int copy,
                                   df_tensor **out) {
    size_t numel;
    df_status status = check_shape(ndim, shape, sizeof(float), &numel);
    if (status != DF_OK) return status;
    if (data == NULL && numel > 0) return dfi_error(DF_E_INVALID_ARG, "data is NULL");
    if (!copy) return dfi_tensor_wrap_host((void *)data, 0, ndim, shape, DF_DTYPE_FLOAT32, out);
    float *owned = malloc((numel ? numel : 1) * sizeof *owned);
    if (owned == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "cannot allocate %zu floats", numel);
    if (numel > 0) memcpy(owned, data, numel * sizeof *owned);
    status = dfi_tensor_wrap_host(owned, 1, ndim, shape, DF_DTYPE_FLOAT32, out);
    if (status != DF_OK) free(owned);
    return status;
}

df_status df_tensor_from_host(const float *data, size_t ndim, const int64_t *shape,
                              df_tensor **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_RETURN(host_float_tensor(data, ndim, shape, 1, out));
}

df_status df_tensor_borrow_host(const float *data, size_t ndim, const int64_t *shape,
                                df_tensor **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_RETURN(host_float_tensor(data, ndim, shape, 0, out));
}

void df_tensor_free(df_tensor *tensor) {
    if (tensor == NULL) return;
    free(tensor->owned_host);
    dfs_tensor_release(tensor->torch);
    free(tensor);
}

size_t df_tensor_ndim(const df_tensor *tensor) {
    return tensor == NULL ? 0 : (size_t)tensor->desc.ndim;
}

df_status df_tensor_shape(const df_tensor *tensor, int64_t *shape, size_t capacity) {
    DFI_CHECK_NOT_NULL(tensor);
    DFI_CHECK_NOT_NULL(shape);
    if (capacity < (size_t)tensor->desc.ndim)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "capacity %zu is less than ndim %d", capacity,
                             (int)tensor->desc.ndim));
    memcpy(shape, tensor->desc.shape, (size_t)tensor->desc.ndim * sizeof *shape);
    return DF_OK;
}

int64_t df_tensor_numel(const df_tensor *tensor) {
    if (tensor == NULL) return 0;
    int64_t count = 1;
    for (int32_t i = 0; i < tensor->desc.ndim; i++) count *= tensor->desc.shape[i];
    return count;
}

df_dtype df_tensor_dtype(const df_tensor *tensor) {
    return tensor == NULL ? (df_dtype)0 : tensor->desc.dtype;
}

const char *df_tensor_device(const df_tensor *tensor) {
    return tensor == NULL ? NULL : tensor->device_name;
}

static int is_contiguous(const dfs_tensor_desc *desc) {
    int64_t expected = 1;
    for (int32_t i = desc->ndim; i-- > 0;) {
        if (desc->shape[i] != 1 && desc->strides[i] != expected) return 0;
        expected *= desc->shape[i];
    }
    return 1;
}

df_status df_tensor_copy_to_host(const df_tensor *tensor, float *dst, size_t count) {
    DFI_CHECK_NOT_NULL(tensor);
    DFI_CHECK_NOT_NULL(dst);
    int64_t numel = df_tensor_numel(tensor);
    if ((int64_t)count != numel)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "count is %zu but the tensor has %lld elements",
                             count, (long long)numel));
    const dfs_tensor_desc *desc = &tensor->desc;
    if (count == 0) return DF_OK;
    if (desc->device_type == DF_DEVICE_CPU && desc->dtype == DF_DTYPE_FLOAT32 && is_contiguous(desc)) {
        if (count > 0) memcpy(dst, desc->data, count * sizeof *dst);
        return DF_OK;
    }
    df_status status = dfs_tensor_copy_to_host_f32(desc, dst);
    if (status != DF_OK) DFI_RETURN(dfi_error(status, "%s", dfs_last_error()));
    return DF_OK;
}

df_status df_tensor_to(const df_tensor *tensor, const char *device, df_dtype dtype,
                       df_tensor **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_NOT_NULL(tensor);
    if (df_dtype_size(dtype) == 0)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "%d is not a df_dtype", (int)dtype));
    df_device_type type = tensor->desc.device_type;
    int32_t id = tensor->desc.device_id;
    df_status status = device == NULL ? DF_OK : dfi_parse_device(device, &type, &id);
    if (status == DF_OK) {
        status = dfs_device_check(type, id);
        if (status != DF_OK) status = dfi_error(status, "%s", dfs_last_error());
    }
    if (status != DF_OK) DFI_RETURN(status);
    dfs_tensor *torch = NULL;
    dfs_tensor_desc desc;
    status = dfs_tensor_convert(&tensor->desc, type, id, dtype, &torch, &desc);
    if (status != DF_OK) DFI_RETURN(dfi_error(status, "%s", dfs_last_error()));
    DFI_RETURN(dfi_tensor_wrap_shim(torch, &desc, out));
}

df_status df_tensor_view_of(const df_tensor *tensor, df_tensor_view *out) {
    DFI_CHECK_NOT_NULL(tensor);
    DFI_CHECK_NOT_NULL(out);
    /* Every field of version 1 of the struct must fit; later fields are filled when they fit. */
    if (out->struct_size < sizeof(df_tensor_view))
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "out->struct_size is %zu, expected at least %zu",
                             out->struct_size, sizeof(df_tensor_view)));
    out->data = tensor->desc.data;
    out->ndim = tensor->desc.ndim;
    out->shape = tensor->desc.shape;
    out->strides = tensor->desc.strides;
    out->dtype = tensor->desc.dtype;
    out->device_type = tensor->desc.device_type;
    out->device_id = tensor->desc.device_id;
    return DF_OK;
}

df_status df_device_available(const char *device, int *out) {
    DFI_CHECK_NOT_NULL(device);
    DFI_CHECK_NOT_NULL(out);
    df_device_type type;
    int32_t id;
    df_status status = dfi_parse_device(device, &type, &id);
    if (status != DF_OK) DFI_RETURN(status);
    *out = dfs_device_check(type, id) == DF_OK;
    return DF_OK;
}
