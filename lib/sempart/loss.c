/* Sempart's losses as public functions: argument checks and the shim's results as df_tensors. */
#include "sempart_internal.h"

#include <stddef.h>

/* Wraps a shim gradient into *out when asked for (out non-NULL), or releases it. */
static df_status hand_gradient(df_status status, dfs_tensor *grad, const dfs_tensor_desc *desc, df_tensor **out) {
    if (status != DF_OK) {
        dfs_tensor_release(grad);
        return status;
    }
    if (out == NULL) return DF_OK;
    return dfi_tensor_wrap_shim(grad, desc, out);
}

/* a's first count dimensions equal b's. */
static int same_dims(const int64_t *a, const int64_t *b, size_t count) {
    for (size_t i = 0; i < count; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

/* Masks (B, h, w) with h, w >= 2 and, when other is given, other of ndim dimensions whose leading
 * (B, h, w) (grid 1: features (B, h, w, D)) or (B, ., H, W) (grid 0: images) agree. */
static df_status check_shapes(const df_tensor *masks, const df_tensor *other, int grid, const char *what) {
    int64_t m[3], o[4];
    if (df_tensor_ndim(masks) != 3 || df_tensor_shape(masks, m, 3) != DF_OK || m[0] < 1 || m[1] < 2 || m[2] < 2)
        return dfi_error(DF_E_INVALID_ARG, "masks must be (B, h, w) with h, w >= 2");
    if (other == NULL) return DF_OK;
    if (df_tensor_ndim(other) != 4 || df_tensor_shape(other, o, 4) != DF_OK ||
        (grid ? !same_dims(m, o, 3) : (o[0] != m[0] || o[2] != m[1] || o[3] != m[2])))
        return dfi_error(DF_E_INVALID_ARG, "%s must be %s for masks (%lld, %lld, %lld)", what,
                         grid ? "(B, h, w, D)" : "(B, C, H, W)", (long long)m[0], (long long)m[1], (long long)m[2]);
    return DF_OK;
}

static df_status shim_failure(df_status status) {
    return status == DF_OK ? DF_OK : dfi_error(status, "%s", dfs_last_error());
}

/* The three mask losses: checks, the shim's term, the gradient handed out. */
static df_status mask_loss(dfs_sempart_term term, const df_tensor *masks, const df_tensor *other, double a, double b,
                           double *loss, df_tensor **grad_masks) {
    if (grad_masks) *grad_masks = NULL;
    if (masks == NULL || other == NULL || loss == NULL) return dfi_error(DF_E_INVALID_ARG, "a NULL argument");
    df_status status = term == DFS_TERM_GTV_FINE ? check_shapes(masks, other, 0, "images")
                                                 : check_shapes(masks, other, 1, "features");
    if (status != DF_OK) return status;
    dfs_tensor *grad = NULL;
    dfs_tensor_desc desc;
    status = shim_failure(dfs_sempart_mask_loss((int32_t)term, dfi_tensor_desc(masks), dfi_tensor_desc(other), a, b,
                                                loss, grad_masks ? &grad : NULL, &desc));
    return hand_gradient(status, grad, &desc, grad_masks);
}

df_status df_ncut_loss(const df_tensor *masks, const df_tensor *features, double tau, double eps, double *loss,
                       df_tensor **grad_masks) {
    if (grad_masks) *grad_masks = NULL;
    DFI_CHECK_ARG(eps > 0.0 && eps <= 1.0, "eps must be in (0, 1]");
    DFI_RETURN(mask_loss(DFS_TERM_NCUT, masks, features, tau, eps, loss, grad_masks));
}

df_status df_sempart_gtv_coarse_loss(const df_tensor *masks, const df_tensor *features, double eps, double *loss,
                                     df_tensor **grad_masks) {
    if (grad_masks) *grad_masks = NULL;
    DFI_CHECK_ARG(eps >= 0.0 && eps <= 1.0, "eps must be in [0, 1]");
    DFI_RETURN(mask_loss(DFS_TERM_GTV_COARSE, masks, features, eps, 0.0, loss, grad_masks));
}

df_status df_sempart_gtv_fine_loss(const df_tensor *masks, const df_tensor *images, double sigma, double *loss,
                                   df_tensor **grad_masks) {
    if (grad_masks) *grad_masks = NULL;
    DFI_CHECK_ARG(sigma > 0.0, "sigma must be > 0");
    DFI_RETURN(mask_loss(DFS_TERM_GTV_FINE, masks, images, sigma, 0.0, loss, grad_masks));
}

df_status df_sempart_sr_loss(const df_tensor *fine, const df_tensor *coarse, double *loss, df_tensor **grad_fine,
                             df_tensor **grad_coarse) {
    if (grad_fine) *grad_fine = NULL;
    if (grad_coarse) *grad_coarse = NULL;
    DFI_CHECK_NOT_NULL(fine);
    DFI_CHECK_NOT_NULL(coarse);
    DFI_CHECK_NOT_NULL(loss);
    int64_t f[3], c[3];
    df_status checked = check_shapes(fine, NULL, 0, NULL);
    if (checked == DF_OK) checked = check_shapes(coarse, NULL, 0, NULL);
    if (checked != DF_OK) DFI_RETURN(checked);
    df_tensor_shape(fine, f, 3), df_tensor_shape(coarse, c, 3);
    if (f[0] != c[0] || f[1] % c[1] != 0 || f[2] % c[2] != 0 || f[1] / c[1] != f[2] / c[2])
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "the fine mask (%lld, %lld, %lld) is not a whole multiple of the coarse "
                             "(%lld, %lld, %lld)", (long long)f[0], (long long)f[1], (long long)f[2], (long long)c[0],
                             (long long)c[1], (long long)c[2]));
    dfs_tensor *gf = NULL, *gc = NULL;
    dfs_tensor_desc df, dc;
    df_status status = shim_failure(dfs_sr_loss(dfi_tensor_desc(fine), dfi_tensor_desc(coarse), loss,
                                                grad_fine ? &gf : NULL, &df, grad_coarse ? &gc : NULL, &dc));
    if (status != DF_OK) {
        dfs_tensor_release(gf), dfs_tensor_release(gc);
        DFI_RETURN(status);
    }
    status = hand_gradient(DF_OK, gf, &df, grad_fine);
    if (status != DF_OK) dfs_tensor_release(gc);
    else status = hand_gradient(DF_OK, gc, &dc, grad_coarse);
    if (status != DF_OK && grad_fine) df_tensor_free(*grad_fine), *grad_fine = NULL;
    DFI_RETURN(status);
}
