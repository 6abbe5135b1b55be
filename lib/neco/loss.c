/* NeCo's loss: argument checks and settings; the arithmetic is the shim's (shim/neco_loss.cpp). */
#include "../internal.h"
#include "../tensor_internal.h"
#include "dinofeat/neco.h"
#include "neco_shim.h"

/* student and teacher (B, Nq, d) alike, refs (B, R, d) with R in 1..65536. */
static df_status check_shapes(const df_tensor *student, const df_tensor *teacher, const df_tensor *refs) {
    int64_t s[3], t[3], r[3];
    if (df_tensor_ndim(student) != 3 || df_tensor_ndim(teacher) != 3 || df_tensor_ndim(refs) != 3 ||
        df_tensor_shape(student, s, 3) != DF_OK || df_tensor_shape(teacher, t, 3) != DF_OK ||
        df_tensor_shape(refs, r, 3) != DF_OK || s[0] != t[0] || s[1] != t[1] || s[2] != t[2] || r[0] != s[0] ||
        r[2] != s[2] || s[0] < 1 || s[1] < 1 || r[1] < 1 || r[1] > 65536)
        return dfi_error(DF_E_INVALID_ARG, "student and teacher must be (B, Nq, d) alike and refs (B, R, d)");
    const df_dtype dtype = df_tensor_dtype(student);
    if (dtype != DF_DTYPE_FLOAT32 && dtype != DF_DTYPE_FLOAT64)
        return dfi_error(DF_E_INVALID_ARG, "features must be float32 or float64, not %s", df_dtype_name(dtype));
    return DF_OK;
}

df_status df_neco_loss(const df_tensor *student, const df_tensor *teacher, const df_tensor *refs,
                       const df_options *options, double *loss, df_tensor **grad_student) {
    if (grad_student) *grad_student = NULL;
    DFI_CHECK_NOT_NULL(student);
    DFI_CHECK_NOT_NULL(teacher);
    DFI_CHECK_NOT_NULL(refs);
    DFI_CHECK_NOT_NULL(loss);
    df_status status = check_shapes(student, teacher, refs);
    if (status != DF_OK) DFI_RETURN(status);
    const dfs_neco_config config = {(int32_t)dfi_option_int(options, DF_PARAM_NECO_NETWORK),
                                    (int32_t)dfi_option_int(options, DF_PARAM_NECO_SIGMOID),
                                    (int32_t)dfi_option_int(options, DF_PARAM_NECO_EUCLIDEAN),
                                    (int32_t)dfi_option_int(options, DF_PARAM_NECO_SYMMETRIC),
                                    dfi_option_float(options, DF_PARAM_NECO_STEEPNESS)};
    dfs_tensor *grad = NULL;
    dfs_tensor_desc desc;
    status = dfs_neco_loss(dfi_tensor_desc(student), dfi_tensor_desc(teacher), dfi_tensor_desc(refs), &config, loss,
                           grad_student ? &grad : NULL, &desc);
    if (status != DF_OK) DFI_RETURN(dfi_error(status, "%s", dfs_last_error()));
    DFI_RETURN(grad_student ? dfi_tensor_wrap_shim(grad, &desc, grad_student) : DF_OK);
}
