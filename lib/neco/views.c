/* df_neco_views: NeCo's crops of one image, as the trainer makes them for each batch. */
#include "neco_internal.h"

#include <stdlib.h>

static df_status wrap(const float *data, size_t ndim, const int64_t *shape, df_tensor **out) {
    return out ? df_tensor_from_host(data, ndim, shape, out) : DF_OK;
}

df_status df_neco_views(const df_image *image, uint64_t seed, const df_options *options, df_tensor **global,
                        df_tensor **local, df_tensor **boxes) {
    DFI_CHECK_NOT_NULL(global);
    *global = NULL;
    if (local) *local = NULL;
    if (boxes) *boxes = NULL;
    DFI_CHECK_NOT_NULL(image);
    dfi_neco_views v;
    dfi_neco_views_from(options, &v);
    const size_t gs = (size_t)v.global_size * v.global_size, ls = (size_t)v.local_size * v.local_size;
    const int views = v.globals + v.locals;
    float *g = malloc((size_t)v.globals * 3 * gs * sizeof *g), *l = malloc(((size_t)v.locals * 3 * ls + 1) * sizeof *l);
    double *b = malloc((size_t)views * 4 * sizeof *b);
    float *bf = malloc((size_t)views * 4 * sizeof *bf);
    df_status status = g && l && b && bf ? DF_OK : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory for the views");
    if (status == DF_OK) status = dfi_neco_augment(image, seed, &v, g, l, b);
    if (status == DF_OK) {
        for (int i = 0; i < 4 * views; i++) bf[i] = (float)b[i];
        const int64_t gshape[4] = {v.globals, 3, v.global_size, v.global_size};
        const int64_t lshape[4] = {v.locals, 3, v.local_size, v.local_size}, bshape[2] = {views, 4};
        status = wrap(g, 4, gshape, global);
        if (status == DF_OK && v.locals > 0) status = wrap(l, 4, lshape, local);
        if (status == DF_OK) status = wrap(bf, 2, bshape, boxes);
        if (status != DF_OK) {
            df_tensor_free(*global), *global = NULL;
            if (local) df_tensor_free(*local), *local = NULL;
        }
    }
    free(g), free(l), free(b), free(bf);
    DFI_RETURN(status);
}
