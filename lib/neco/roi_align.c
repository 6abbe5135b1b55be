/* ROI align: argument checks; the arithmetic is the shim's (shim/roi_align.cpp). */
#include "../internal.h"
#include "../tensor_internal.h"
#include "dinofeat/neco.h"
#include "roi_align_shim.h"

#include <math.h>

static df_status check(const df_tensor *features, const df_tensor *boxes, size_t output_size, double spatial_scale) {
    int64_t f[4], b[2];
    if (df_tensor_ndim(features) != 4 || df_tensor_shape(features, f, 4) != DF_OK || f[0] < 1 || f[1] < 1 ||
        f[2] < 1 || f[3] < 1)
        return dfi_error(DF_E_INVALID_ARG, "features must be (B, C, H, W)");
    const df_dtype dtype = df_tensor_dtype(features);
    if (dtype != DF_DTYPE_FLOAT32 && dtype != DF_DTYPE_FLOAT64)
        return dfi_error(DF_E_INVALID_ARG, "features must be float32 or float64, not %s", df_dtype_name(dtype));
    if (df_tensor_ndim(boxes) != 2 || df_tensor_shape(boxes, b, 2) != DF_OK || b[1] != 5)
        return dfi_error(DF_E_INVALID_ARG, "boxes must be (K, 5): batch index, x1, y1, x2, y2");
    const df_dtype box_type = df_tensor_dtype(boxes);
    if (box_type != DF_DTYPE_FLOAT32 && box_type != DF_DTYPE_FLOAT64)
        return dfi_error(DF_E_INVALID_ARG, "boxes must be float32 or float64, not %s", df_dtype_name(box_type));
    if (output_size < 1 || output_size > 1024) return dfi_error(DF_E_INVALID_ARG, "output_size must be in 1..1024");
    if (!(spatial_scale > 0.0) || !isfinite(spatial_scale))
        return dfi_error(DF_E_INVALID_ARG, "spatial_scale must be positive");
    return DF_OK;
}

df_status df_roi_align(const df_tensor *features, const df_tensor *boxes, size_t output_size, double spatial_scale,
                       int sampling_ratio, int aligned, df_tensor **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_NOT_NULL(features);
    DFI_CHECK_NOT_NULL(boxes);
    df_status status = check(features, boxes, output_size, spatial_scale);
    if (status != DF_OK) DFI_RETURN(status);
    dfs_tensor *result = NULL;
    dfs_tensor_desc desc;
    status = dfs_roi_align(dfi_tensor_desc(features), dfi_tensor_desc(boxes), (int64_t)output_size, spatial_scale,
                           sampling_ratio, aligned != 0, &result, &desc);
    if (status != DF_OK) DFI_RETURN(dfi_error(status, "%s", dfs_last_error()));
    DFI_RETURN(dfi_tensor_wrap_shim(result, &desc, out));
}

df_status df_roi_align_backward(const df_tensor *features, const df_tensor *boxes, size_t output_size,
                                double spatial_scale, int sampling_ratio, int aligned, const df_tensor *grad_out,
                                df_tensor **grad_features) {
    DFI_CHECK_NOT_NULL(grad_features);
    *grad_features = NULL;
    DFI_CHECK_NOT_NULL(features);
    DFI_CHECK_NOT_NULL(boxes);
    DFI_CHECK_NOT_NULL(grad_out);
    df_status status = check(features, boxes, output_size, spatial_scale);
    if (status != DF_OK) DFI_RETURN(status);
    int64_t f[4], b[2], g[4];
    df_tensor_shape(features, f, 4), df_tensor_shape(boxes, b, 2);
    if (df_tensor_ndim(grad_out) != 4 || df_tensor_shape(grad_out, g, 4) != DF_OK || g[0] != b[0] || g[1] != f[1] ||
        g[2] != (int64_t)output_size || g[3] != (int64_t)output_size)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "grad_out must be (K, C, output_size, output_size)"));
    dfs_tensor *result = NULL;
    dfs_tensor_desc desc;
    status = dfs_roi_align_backward(dfi_tensor_desc(features), dfi_tensor_desc(boxes), (int64_t)output_size,
                                    spatial_scale, sampling_ratio, aligned != 0, dfi_tensor_desc(grad_out), &result,
                                    &desc);
    if (status != DF_OK) DFI_RETURN(dfi_error(status, "%s", dfs_last_error()));
    DFI_RETURN(dfi_tensor_wrap_shim(result, &desc, grad_features));
}
