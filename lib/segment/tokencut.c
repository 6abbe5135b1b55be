/* TokenCut (Wang et al., CVPR 2022) as the official code's ncut() and detect_box() do it
 * (specs/sempart.md, TokenCut part); the eigenproblem is solved in the shim. */
#include "../internal.h"
#include "../model/model_internal.h"
#include "../tensor_internal.h"
#include "dinofeat/regions.h"
#include "dinofeat/segment.h"
#include "tokencut_shim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct tokencut_state {
    int64_t gh, gw, seed;
    double eigenvalue;
    float *eigenvector;   /* gh * gw */
    uint8_t *partition;   /* gh * gw, 0/1 */
    uint8_t *object;      /* gh * gw, 0/1 */
    int32_t token_box[4]; /* in tokens, max exclusive */
} tokencut_state;

static void state_free(tokencut_state *s) {
    free(s->eigenvector);
    free(s->partition);
    free(s->object);
}

/* The last block's keys of the image zero-padded to whole patches, and the eigenvector. */
static df_status spectral_step(df_model *model, const df_tensor *image, const df_options *options,
                               tokencut_state *s) {
    const dfs_tensor_desc *desc = dfi_tensor_desc(image);
    if (desc->ndim != 4 || desc->shape[0] != 1 || desc->shape[1] != 3)
        return dfi_error(DF_E_INVALID_ARG, "image must have shape (1, 3, H, W)");
    dfs_vit_run run;
    memset(&run, 0, sizeof run);
    df_status status = dfi_model_plan(model, desc->shape[2], desc->shape[3], &run);
    if (status != DF_OK) return status;
    const int32_t patch = dfi_model_patch(model);
    run.cover = DFS_COVER_PAD;
    run.stride = patch;
    run.outputs = 1u << DFS_VIT_OUT_K;
    s->gh = (desc->shape[2] + patch - 1) / patch;
    s->gw = (desc->shape[3] + patch - 1) / patch;
    if (s->gh * s->gw < 2) return dfi_error(DF_E_INVALID_ARG, "TokenCut needs at least 2 patches");
    int64_t registers = 0;
    df_model_info_int(model, DF_MODEL_INFO_REGISTERS, &registers);
    dfs_tensor *outs[DFS_VIT_OUT_FIRST_LAYER] = {0};
    dfs_tensor_desc descs[DFS_VIT_OUT_FIRST_LAYER];
    status = dfs_vit_forward(dfi_model_vit(model), desc, &run, outs, descs);
    if (status != DF_OK) return dfi_error(status, "%s", dfs_last_error());
    s->eigenvector = malloc((size_t)(s->gh * s->gw) * sizeof *s->eigenvector);
    if (s->eigenvector == NULL) status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    if (status == DF_OK && descs[DFS_VIT_OUT_K].shape[1] != 1 + registers + s->gh * s->gw)
        status = dfi_error(DF_E_INTERNAL, "the forward pass gave %lld tokens for a %lld x %lld grid",
                           (long long)descs[DFS_VIT_OUT_K].shape[1], (long long)s->gh, (long long)s->gw);
    if (status == DF_OK) {
        status = dfs_tokencut_eigenvector(&descs[DFS_VIT_OUT_K], 1 + registers,
                                          dfi_option_float(options, DF_PARAM_TOKENCUT_TAU),
                                          dfi_option_float(options, DF_PARAM_TOKENCUT_EPS),
                                          (int32_t)dfi_option_int(options, DF_PARAM_TOKENCUT_BINARY), s->eigenvector,
                                          &s->eigenvalue);
        if (status != DF_OK) status = dfi_error(status, "%s", dfs_last_error());
    }
    for (int k = 0; k < DFS_VIT_OUT_FIRST_LAYER; k++)
        if (outs[k]) dfs_tensor_release(outs[k]);
    return status;
}

/* Bipartition at the mean, the seed, the sign flip, the seed's 4-connected component and its box. */
static df_status partition_step(tokencut_state *s) {
    const size_t n = (size_t)(s->gh * s->gw);
    s->partition = malloc(n);
    s->object = malloc(n);
    int32_t *values = malloc(n * sizeof *values), *components = malloc(n * sizeof *components);
    df_status status = DF_OK;
    if (s->partition == NULL || s->object == NULL || values == NULL || components == NULL)
        status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    if (status == DF_OK) {
        double mean = 0;
        for (size_t i = 0; i < n; i++) mean += s->eigenvector[i];
        mean /= (double)n;
        size_t seed = 0;
        for (size_t i = 1; i < n; i++)
            if (fabsf(s->eigenvector[i]) > fabsf(s->eigenvector[seed])) seed = i;
        for (size_t i = 0; i < n; i++) s->partition[i] = s->eigenvector[i] > mean;
        if (!s->partition[seed]) {
            for (size_t i = 0; i < n; i++) s->eigenvector[i] = -s->eigenvector[i], s->partition[i] = !s->partition[i];
        }
        s->seed = (int64_t)seed;
        for (size_t i = 0; i < n; i++) values[i] = s->partition[i];
        size_t count;
        status = df_connected_components(values, (size_t)s->gw, (size_t)s->gh, 4, 0, components, &count);
        if (status == DF_OK) {
            int32_t x0 = INT32_MAX, y0 = INT32_MAX, x1 = -1, y1 = -1;
            for (size_t i = 0; i < n; i++) {
                s->object[i] = components[i] == components[seed];
                if (!s->object[i]) continue;
                int32_t x = (int32_t)(i % (size_t)s->gw), y = (int32_t)(i / (size_t)s->gw);
                if (x < x0) x0 = x;
                if (y < y0) y0 = y;
                if (x > x1) x1 = x;
                if (y > y1) y1 = y;
            }
            s->token_box[0] = x0, s->token_box[1] = y0, s->token_box[2] = x1 + 1, s->token_box[3] = y1 + 1;
        }
    }
    free(values);
    free(components);
    return status;
}

/* The object's pixels: each token covers patch x patch pixels of the padded image; cut to H x W. */
static df_status pixel_mask(const tokencut_state *s, int64_t h, int64_t w, int32_t patch, df_tensor **mask) {
    uint8_t *pixels = malloc((size_t)(h * w));
    if (pixels == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) pixels[y * w + x] = s->object[(y / patch) * s->gw + x / patch] ? 255 : 0;
    int64_t shape[2] = {h, w};
    df_status status = dfi_tensor_wrap_host(pixels, 1, 2, shape, DF_DTYPE_UINT8, mask);
    if (status != DF_OK) free(pixels);
    return status;
}

/* Hands a state buffer to a new (gh, gw) host tensor; on success the state no longer owns it. */
static df_status hand_over(void **buffer, int64_t gh, int64_t gw, df_dtype dtype, df_tensor **out) {
    int64_t shape[2] = {gh, gw};
    df_status status = dfi_tensor_wrap_host(*buffer, 1, 2, shape, dtype, out);
    if (status == DF_OK) *buffer = NULL;
    return status;
}

static df_status fill_detail(tokencut_state *s, df_tokencut_detail *detail) {
    detail->grid_height = s->gh;
    detail->grid_width = s->gw;
    detail->seed = s->seed;
    detail->eigenvalue = s->eigenvalue;
    df_status status = hand_over((void **)&s->eigenvector, s->gh, s->gw, DF_DTYPE_FLOAT32, &detail->eigenvector);
    if (status == DF_OK) status = hand_over((void **)&s->partition, s->gh, s->gw, DF_DTYPE_UINT8, &detail->partition);
    if (status == DF_OK) status = hand_over((void **)&s->object, s->gh, s->gw, DF_DTYPE_UINT8, &detail->object);
    if (status != DF_OK) df_tokencut_detail_clear(detail);
    return status;
}

df_status df_tokencut(df_model *model, const df_tensor *image, const df_options *options, df_tensor **mask,
                      int32_t *box, df_tokencut_detail *detail) {
    DFI_CHECK_NOT_NULL(mask);
    *mask = NULL;
    DFI_CHECK_NOT_NULL(model);
    DFI_CHECK_NOT_NULL(image);
    if (detail != NULL) {
        DFI_CHECK_ARG(detail->struct_size >= sizeof *detail, "detail->struct_size is not sizeof(df_tokencut_detail)");
        detail->eigenvector = detail->partition = detail->object = NULL;
    }
    tokencut_state s;
    memset(&s, 0, sizeof s);
    df_status status = spectral_step(model, image, options, &s);
    if (status == DF_OK) status = partition_step(&s);
    const dfs_tensor_desc *desc = dfi_tensor_desc(image);
    const int32_t patch = dfi_model_patch(model);
    if (status == DF_OK) status = pixel_mask(&s, desc->shape[2], desc->shape[3], patch, mask);
    if (status == DF_OK && box != NULL) {
        box[0] = s.token_box[0] * patch;
        box[1] = s.token_box[1] * patch;
        box[2] = (int32_t)fmin((double)s.token_box[2] * patch, (double)desc->shape[3]);
        box[3] = (int32_t)fmin((double)s.token_box[3] * patch, (double)desc->shape[2]);
    }
    if (status == DF_OK && detail != NULL) status = fill_detail(&s, detail);
    if (status != DF_OK) {
        df_tensor_free(*mask);
        *mask = NULL;
    }
    state_free(&s);
    DFI_RETURN(status);
}

void df_tokencut_detail_clear(df_tokencut_detail *detail) {
    if (detail == NULL) return;
    df_tensor_free(detail->eigenvector);
    df_tensor_free(detail->partition);
    df_tensor_free(detail->object);
    detail->eigenvector = detail->partition = detail->object = NULL;
}
