/* STEGO's correspondence loss (specs/stego.md) through the shim, and its presets. */
#include "stego_internal.h"

dfs_stego_loss_config dfi_stego_loss_config(const df_options *options) {
    return (dfs_stego_loss_config){dfi_option_float(options, DF_PARAM_STEGO_SHIFT_SELF),
                                   dfi_option_float(options, DF_PARAM_STEGO_SHIFT_KNN),
                                   dfi_option_float(options, DF_PARAM_STEGO_SHIFT_RAND),
                                   dfi_option_float(options, DF_PARAM_STEGO_WEIGHT_SELF),
                                   dfi_option_float(options, DF_PARAM_STEGO_WEIGHT_KNN),
                                   dfi_option_float(options, DF_PARAM_STEGO_WEIGHT_RAND),
                                   (int32_t)dfi_option_int(options, DF_PARAM_STEGO_CENTER),
                                   (int32_t)dfi_option_int(options, DF_PARAM_STEGO_STABILIZE),
                                   (int32_t)dfi_option_int(options, DF_PARAM_STEGO_ZERO_CLAMP)};
}

/* Shapes: maps (B, C, H, W) of one batch size, coords (B, P, P, 2). */
static df_status check_maps(const df_tensor *f, const df_tensor *s, const df_tensor *coords, const char *which) {
    int64_t fs[4], ss[4], cs[4];
    if (df_tensor_ndim(f) != 4 || df_tensor_ndim(s) != 4 || df_tensor_ndim(coords) != 4)
        return dfi_error(DF_E_INVALID_ARG, "%s: maps must be (B, C, H, W) and coordinates (B, P, P, 2)", which);
    df_tensor_shape(f, fs, 4), df_tensor_shape(s, ss, 4), df_tensor_shape(coords, cs, 4);
    if (fs[0] != ss[0] || fs[0] != cs[0] || fs[2] != ss[2] || fs[3] != ss[3] || cs[1] != cs[2] || cs[3] != 2 || fs[0] < 1)
        return dfi_error(DF_E_INVALID_ARG,
                         "%s: features (%lld, %lld, %lld, %lld), codes (%lld, %lld, %lld, %lld) and coordinates (%lld, "
                         "%lld, %lld, %lld) do not fit together",
                         which, (long long)fs[0], (long long)fs[1], (long long)fs[2], (long long)fs[3], (long long)ss[0],
                         (long long)ss[1], (long long)ss[2], (long long)ss[3], (long long)cs[0], (long long)cs[1],
                         (long long)cs[2], (long long)cs[3]);
    return DF_OK;
}

static df_status wrap_gradients(df_status status, dfs_tensor *a, const dfs_tensor_desc *da, df_tensor **ga,
                                dfs_tensor *b, const dfs_tensor_desc *db, df_tensor **gb) {
    if (status != DF_OK) return dfi_error(status, "%s", dfs_last_error());
    if (ga) status = dfi_tensor_wrap_shim(a, da, ga);
    if (status == DF_OK && gb) status = dfi_tensor_wrap_shim(b, db, gb);
    return status;
}

df_status df_stego_corr_loss(const df_tensor *f1, const df_tensor *f2, const df_tensor *s1, const df_tensor *s2,
                             const df_tensor *coords1, const df_tensor *coords2, double b, unsigned flags, double *loss,
                             df_tensor **grad_s1, df_tensor **grad_s2) {
    if (grad_s1) *grad_s1 = NULL;
    if (grad_s2) *grad_s2 = NULL;
    DFI_CHECK_NOT_NULL(f1);
    DFI_CHECK_NOT_NULL(f2);
    DFI_CHECK_NOT_NULL(s1);
    DFI_CHECK_NOT_NULL(s2);
    DFI_CHECK_NOT_NULL(coords1);
    DFI_CHECK_NOT_NULL(coords2);
    DFI_CHECK_NOT_NULL(loss);
    DFI_CHECK_ARG(flags <= 7u, "unknown flags");
    df_status status = check_maps(f1, s1, coords1, "first");
    if (status == DF_OK) status = check_maps(f2, s2, coords2, "second");
    if (status != DF_OK) DFI_RETURN(status);
    dfs_stego_loss_config config = {0};
    config.center = (flags & DF_STEGO_CENTER) != 0;
    config.stabilize = (flags & DF_STEGO_STABILIZE) != 0;
    config.zero_clamp = (flags & DF_STEGO_ZERO_CLAMP) != 0;
    dfs_tensor *a = NULL, *c = NULL;
    dfs_tensor_desc da, dc;
    status = dfs_stego_corr_loss(dfi_tensor_desc(f1), dfi_tensor_desc(f2), dfi_tensor_desc(s1), dfi_tensor_desc(s2),
                                 dfi_tensor_desc(coords1), dfi_tensor_desc(coords2), b, &config, loss,
                                 grad_s1 ? &a : NULL, &da, grad_s2 ? &c : NULL, &dc);
    DFI_RETURN(wrap_gradients(status, a, &da, grad_s1, c, &dc, grad_s2));
}

df_status df_stego_loss(const df_tensor *f, const df_tensor *s, const df_tensor *f_knn, const df_tensor *s_knn,
                        const df_tensor *coords1, const df_tensor *coords2, const df_tensor *perms,
                        const df_options *options, double losses[4], df_tensor **grad_s, df_tensor **grad_s_knn) {
    if (grad_s) *grad_s = NULL;
    if (grad_s_knn) *grad_s_knn = NULL;
    DFI_CHECK_NOT_NULL(f);
    DFI_CHECK_NOT_NULL(s);
    DFI_CHECK_NOT_NULL(f_knn);
    DFI_CHECK_NOT_NULL(s_knn);
    DFI_CHECK_NOT_NULL(coords1);
    DFI_CHECK_NOT_NULL(coords2);
    DFI_CHECK_NOT_NULL(losses);
    df_status status = check_maps(f, s, coords1, "batch");
    if (status == DF_OK) status = check_maps(f_knn, s_knn, coords2, "KNN partners");
    int64_t shape[2], batch[4];
    df_tensor_shape(f, batch, 4);
    if (status == DF_OK && perms &&
        (df_tensor_ndim(perms) != 2 || df_tensor_shape(perms, shape, 2) != DF_OK || shape[1] != batch[0] ||
         df_tensor_dtype(perms) != DF_DTYPE_INT64))
        status = dfi_error(DF_E_INVALID_ARG, "perms must be (negatives, B) int64");
    if (status != DF_OK) DFI_RETURN(status);
    const dfs_stego_loss_config config = dfi_stego_loss_config(options);
    dfs_tensor *a = NULL, *c = NULL;
    dfs_tensor_desc da, dc;
    status = dfs_stego_loss(dfi_tensor_desc(f), dfi_tensor_desc(s), dfi_tensor_desc(f_knn), dfi_tensor_desc(s_knn),
                            dfi_tensor_desc(coords1), dfi_tensor_desc(coords2), perms ? dfi_tensor_desc(perms) : NULL,
                            &config, losses, grad_s ? &a : NULL, &da, grad_s_knn ? &c : NULL, &dc);
    DFI_RETURN(wrap_gradients(status, a, &da, grad_s, c, &dc, grad_s_knn));
}

df_status df_stego_preset_apply(df_options *options, df_stego_preset preset) {
    DFI_CHECK_NOT_NULL(options);
    DFI_CHECK_ARG(preset == DF_STEGO_PRESET_CODE || preset == DF_STEGO_PRESET_PAPER, "unknown preset");
    static const double values[2][6] = {{0.67, 0.25, 0.63, 0.18, 0.12, 0.46}, {0.10, 1.00, 0.15, 0.12, 0.20, 1.00}};
    static const df_param keys[6] = {DF_PARAM_STEGO_WEIGHT_SELF, DF_PARAM_STEGO_WEIGHT_KNN, DF_PARAM_STEGO_WEIGHT_RAND,
                                     DF_PARAM_STEGO_SHIFT_SELF,  DF_PARAM_STEGO_SHIFT_KNN,  DF_PARAM_STEGO_SHIFT_RAND};
    df_status status = DF_OK;
    for (int i = 0; status == DF_OK && i < 6; i++) status = df_options_set_float(options, keys[i], values[preset][i]);
    DFI_RETURN(status);
}
