/* df_pca_fit: the checks around the shim's eigen-decomposition. */
#include "../internal.h"
#include "dinofeat/cluster.h"
#include "pca_shim.h"

df_status df_pca_fit(const float *points, size_t n, size_t dim, size_t components, float *mean, float *basis) {
    DFI_CHECK_NOT_NULL(points);
    DFI_CHECK_NOT_NULL(mean);
    DFI_CHECK_NOT_NULL(basis);
    if (n == 0 || dim == 0 || components == 0 || components > dim)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "PCA of %zu points of %zu dimensions to %zu components: 1..%zu components "
                                               "of at least one point", n, dim, components, dim));
    df_status status = dfs_pca_basis(points, (int64_t)n, (int64_t)dim, (int64_t)components, mean, basis);
    DFI_RETURN(status == DF_OK ? DF_OK : dfi_error(status, "PCA: %s", dfs_last_error()));
}
