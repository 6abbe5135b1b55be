/* The Hungarian method with potentials (Kuhn, Munkres; the O(n^2 m) shortest augmenting path
 * form) for n <= m rows; more rows than columns are solved on the transpose. */
#include "../internal.h"
#include "dinofeat/eval.h"

#include <math.h>
#include <stdlib.h>

/* cost is n x m (row-major) with n <= m; col_of_row gets n columns. */
static df_status solve(const double *cost, size_t n, size_t m, int64_t *col_of_row) {
    /* 1-based arrays, as the method is usually written: index 0 is the virtual start. */
    double *u = calloc(n + 1, sizeof *u), *v = calloc(m + 1, sizeof *v), *min_to = malloc((m + 1) * sizeof *min_to);
    size_t *row_of_col = calloc(m + 1, sizeof *row_of_col), *way = calloc(m + 1, sizeof *way);
    unsigned char *used = malloc(m + 1);
    if (!u || !v || !min_to || !row_of_col || !way || !used) {
        free(u), free(v), free(min_to), free(row_of_col), free(way), free(used);
        return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    }
    for (size_t i = 1; i <= n; i++) {
        row_of_col[0] = i;
        size_t j0 = 0;
        for (size_t j = 0; j <= m; j++) {
            min_to[j] = INFINITY;
            used[j] = 0;
        }
        do { /* grow the alternating tree until it reaches a free column */
            used[j0] = 1;
            size_t i0 = row_of_col[j0], j1 = 0;
            double delta = INFINITY;
            for (size_t j = 1; j <= m; j++) {
                if (used[j]) continue;
                double reduced = cost[(i0 - 1) * m + (j - 1)] - u[i0] - v[j];
                if (reduced < min_to[j]) {
                    min_to[j] = reduced;
                    way[j] = j0;
                }
                if (min_to[j] < delta) {
                    delta = min_to[j];
                    j1 = j;
                }
            }
            for (size_t j = 0; j <= m; j++) {
                if (used[j]) {
                    u[row_of_col[j]] += delta;
                    v[j] -= delta;
                } else {
                    min_to[j] -= delta;
                }
            }
            j0 = j1;
        } while (row_of_col[j0] != 0);
        do { /* augment along the path back to the start */
            size_t j1 = way[j0];
            row_of_col[j0] = row_of_col[j1];
            j0 = j1;
        } while (j0);
    }
    for (size_t j = 1; j <= m; j++)
        if (row_of_col[j]) col_of_row[row_of_col[j] - 1] = (int64_t)(j - 1);
    free(u), free(v), free(min_to), free(row_of_col), free(way), free(used);
    return DF_OK;
}

df_status df_linear_sum_assignment(const double *cost, size_t rows, size_t cols, int64_t *col_of_row) {
    DFI_CHECK_NOT_NULL(cost);
    DFI_CHECK_NOT_NULL(col_of_row);
    if (rows == 0 || cols == 0) DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "the cost matrix is empty"));
    size_t cells;
    if (dfi_mul_size(rows, cols, &cells) || cells > ((size_t)1 << 28))
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "a %zu x %zu cost matrix is too large", rows, cols));
    for (size_t i = 0; i < cells; i++)
        if (!isfinite(cost[i])) DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "cost[%zu] is not finite", i));
    if (rows <= cols) DFI_RETURN(solve(cost, rows, cols, col_of_row));
    /* More rows than columns: assign every column a row on the transpose. */
    double *transposed = malloc(cells * sizeof *transposed);
    int64_t *row_of_col = malloc(cols * sizeof *row_of_col);
    if (!transposed || !row_of_col) {
        free(transposed), free(row_of_col);
        DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "out of memory"));
    }
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) transposed[c * rows + r] = cost[r * cols + c];
    df_status status = solve(transposed, cols, rows, row_of_col);
    if (status == DF_OK) {
        for (size_t r = 0; r < rows; r++) col_of_row[r] = -1;
        for (size_t c = 0; c < cols; c++) col_of_row[row_of_col[c]] = (int64_t)c;
    }
    free(transposed), free(row_of_col);
    DFI_RETURN(status);
}
