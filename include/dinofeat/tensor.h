/*
 * dinofeat tensors: the opaque df_tensor (shape, dtype, device) that features, attention maps
 * and keys cross the API in, with copy-out / copy-in / borrow-in for float32 host buffers and a
 * read-only view with DLPack's semantics (strides in elements) for zero-copy exchange.
 */
#ifndef DINOFEAT_TENSOR_H
#define DINOFEAT_TENSOR_H

#include "dinofeat/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The element types; numbers are fixed. */
typedef enum df_dtype {
    DF_DTYPE_FLOAT32 = 1,
    DF_DTYPE_FLOAT16 = 2,
    DF_DTYPE_BFLOAT16 = 3,
    DF_DTYPE_FLOAT64 = 4,
    DF_DTYPE_UINT8 = 10,
    DF_DTYPE_INT32 = 11,
    DF_DTYPE_INT64 = 12
} df_dtype;

/* Device kinds, numbered as DLPack's DLDeviceType. */
typedef enum df_device_type {
    DF_DEVICE_CPU = 1,
    DF_DEVICE_CUDA = 2
} df_device_type;

#define DF_TENSOR_MAX_DIMS 8

typedef struct df_tensor df_tensor;

/* A read-only view of a tensor's memory. The caller sets struct_size to sizeof(df_tensor_view)
 * before the call; fields added in later versions are filled only when struct_size covers them.
 * Every pointer is borrowed: it lives as long as the tensor. */
typedef struct df_tensor_view {
    size_t struct_size;
    const void *data;        /* first element; device memory when device_type is CUDA */
    int32_t ndim;
    const int64_t *shape;    /* ndim entries */
    const int64_t *strides;  /* ndim entries, in elements (not bytes), as in DLPack */
    df_dtype dtype;
    df_device_type device_type;
    int32_t device_id;
} df_tensor_view;

/* Borrowed: "float32", "float16", ...; NULL for an unknown value. */
DF_API const char *df_dtype_name(df_dtype dtype);
/* Bytes per element, 0 for an unknown value. */
DF_API size_t df_dtype_size(df_dtype dtype);

/* out: new, a zero-filled contiguous tensor; free with df_tensor_free. device is "cpu", "cuda" or
 * "cuda:N" (NULL means "cpu"); a device this build or machine lacks is DF_E_UNSUPPORTED. */
DF_API df_status df_tensor_new(size_t ndim, const int64_t *shape, df_dtype dtype, const char *device,
                               df_tensor **out);
/* out: new, a float32 host tensor holding a copy of data (numel elements, row-major). */
DF_API df_status df_tensor_from_host(const float *data, size_t ndim, const int64_t *shape,
                                     df_tensor **out);
/* out: new, a float32 host tensor over the caller's memory, which is NOT copied: the caller keeps
 * data alive and unchanged until df_tensor_free(out). */
DF_API df_status df_tensor_borrow_host(const float *data, size_t ndim, const int64_t *shape,
                                       df_tensor **out);
/* Does nothing when tensor is NULL. */
DF_API void df_tensor_free(df_tensor *tensor);

/* Number of dimensions; 0 for NULL. */
DF_API size_t df_tensor_ndim(const df_tensor *tensor);
/* Copies the shape into shape[0 .. ndim-1]; capacity is the array's length. */
DF_API df_status df_tensor_shape(const df_tensor *tensor, int64_t *shape, size_t capacity);
/* Number of elements; 0 for NULL. */
DF_API int64_t df_tensor_numel(const df_tensor *tensor);
/* The element type; 0 for NULL. */
DF_API df_dtype df_tensor_dtype(const df_tensor *tensor);
/* Borrowed: "cpu" or "cuda:N", lives as long as the tensor; NULL for NULL. */
DF_API const char *df_tensor_device(const df_tensor *tensor);

/* Copies every element, converted to float32, row-major, into dst (count must equal numel),
 * from any device and dtype. */
DF_API df_status df_tensor_copy_to_host(const df_tensor *tensor, float *dst, size_t count);
/* out: new, a contiguous copy on device (NULL: the tensor's own) with element type dtype. */
DF_API df_status df_tensor_to(const df_tensor *tensor, const char *device, df_dtype dtype,
                              df_tensor **out);
/* Fills *out (see df_tensor_view). */
DF_API df_status df_tensor_view_of(const df_tensor *tensor, df_tensor_view *out);

/* Whether a device string names a device usable by this build on this machine: *out is 1 or 0.
 * A malformed string is DF_E_INVALID_ARG. */
DF_API df_status df_device_available(const char *device, int *out);

#ifdef __cplusplus
}
#endif

#endif /* DINOFEAT_TENSOR_H */
