/* Differentiable sorting networks: argument checks; the arithmetic is the shim's
 * (shim/diffsort.cpp). */
#include "../internal.h"
#include "../tensor_internal.h"
#include "dinofeat/neco.h"
#include "neco_shim.h"

static df_status check(const df_tensor *values, df_sort_network network, df_sort_sigmoid sigmoid, double steepness) {
    int64_t shape[2];
    if (df_tensor_ndim(values) != 2 || df_tensor_shape(values, shape, 2) != DF_OK || shape[1] < 1 || shape[1] > 65536)
        return dfi_error(DF_E_INVALID_ARG, "values must be (rows, n) with n in 1..65536");
    const df_dtype dtype = df_tensor_dtype(values);
    if (dtype != DF_DTYPE_FLOAT32 && dtype != DF_DTYPE_FLOAT64)
        return dfi_error(DF_E_INVALID_ARG, "values must be float32 or float64, not %s", df_dtype_name(dtype));
    if (network != DF_SORT_BITONIC && network != DF_SORT_ODD_EVEN) return dfi_error(DF_E_INVALID_ARG, "no such network");
    if (sigmoid < DF_SORT_CAUCHY || sigmoid > DF_SORT_OPTIMAL) return dfi_error(DF_E_INVALID_ARG, "no such sigmoid");
    if (!(steepness > 0.0) || steepness > 1e12) return dfi_error(DF_E_INVALID_ARG, "steepness must be in (0, 1e12]");
    return DF_OK;
}

df_status df_diffsort(const df_tensor *values, df_sort_network network, df_sort_sigmoid sigmoid, double steepness,
                      df_tensor **sorted, df_tensor **permutation) {
    DFI_CHECK_NOT_NULL(sorted);
    *sorted = NULL;
    if (permutation) *permutation = NULL;
    DFI_CHECK_NOT_NULL(values);
    df_status status = check(values, network, sigmoid, steepness);
    if (status != DF_OK) DFI_RETURN(status);
    dfs_tensor *s = NULL, *p = NULL;
    dfs_tensor_desc sd, pd;
    status = dfs_diffsort(dfi_tensor_desc(values), (int32_t)network, (int32_t)sigmoid, steepness, &s, &sd,
                          permutation ? &p : NULL, &pd);
    if (status != DF_OK) {
        dfs_tensor_release(s);
        DFI_RETURN(dfi_error(status, "%s", dfs_last_error()));
    }
    status = dfi_tensor_wrap_shim(s, &sd, sorted);
    if (status != DF_OK) dfs_tensor_release(p);
    else if (permutation) status = dfi_tensor_wrap_shim(p, &pd, permutation);
    if (status != DF_OK) df_tensor_free(*sorted), *sorted = NULL;
    DFI_RETURN(status);
}

/* An upstream gradient (may be NULL) is shaped as sorted (rows, n) or, square, as P (rows, n, n). */
static df_status check_upstream(const df_tensor *grad, const df_tensor *values, int square) {
    if (grad == NULL) return DF_OK;
    int64_t v[2], g[3];
    df_tensor_shape(values, v, 2);
    if (df_tensor_ndim(grad) != (size_t)(square ? 3 : 2) || df_tensor_shape(grad, g, 3) != DF_OK || g[0] != v[0] ||
        g[1] != v[1] || (square && g[2] != v[1]))
        return dfi_error(DF_E_INVALID_ARG, "%s must be shaped as the %s", square ? "grad_permutation" : "grad_sorted",
                         square ? "permutation (rows, n, n)" : "values (rows, n)");
    return DF_OK;
}

df_status df_diffsort_backward(const df_tensor *values, df_sort_network network, df_sort_sigmoid sigmoid,
                               double steepness, const df_tensor *grad_sorted, const df_tensor *grad_permutation,
                               df_tensor **grad_values) {
    DFI_CHECK_NOT_NULL(grad_values);
    *grad_values = NULL;
    DFI_CHECK_NOT_NULL(values);
    df_status status = check(values, network, sigmoid, steepness);
    if (status == DF_OK) status = check_upstream(grad_sorted, values, 0);
    if (status == DF_OK) status = check_upstream(grad_permutation, values, 1);
    if (status != DF_OK) DFI_RETURN(status);
    dfs_tensor *g = NULL;
    dfs_tensor_desc gd;
    status = dfs_diffsort_backward(dfi_tensor_desc(values), (int32_t)network, (int32_t)sigmoid, steepness,
                                   grad_sorted ? dfi_tensor_desc(grad_sorted) : NULL,
                                   grad_permutation ? dfi_tensor_desc(grad_permutation) : NULL, &g, &gd);
    if (status != DF_OK) DFI_RETURN(dfi_error(status, "%s", dfs_last_error()));
    DFI_RETURN(dfi_tensor_wrap_shim(g, &gd, grad_values));
}
