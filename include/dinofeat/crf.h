/*
 * dinofeat dense CRF: fully connected CRF with Gaussian edge potentials and Potts compatibility
 * (Krähenbühl and Koltun 2011), mean-field inference with permutohedral-lattice filtering
 * (specs/crf.md). Used to refine HR-Dv2, STEGO and DatUS² label maps.
 */
#ifndef DINOFEAT_CRF_H
#define DINOFEAT_CRF_H

#include "dinofeat/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the unary array holds. */
typedef enum df_crf_unary {
    DF_CRF_PROBABILITIES = 0, /* per-label probabilities; the unary is -log(max(p, floor)) */
    DF_CRF_ENERGIES = 1       /* per-label energies, lower is better (HR-Dv2: L1 distances) */
} df_crf_unary;

typedef enum df_crf_normalization {
    DF_CRF_NORM_SYMMETRIC = 0, /* D^-1/2 K D^-1/2, pydensecrf's NORMALIZE_SYMMETRIC */
    DF_CRF_NORM_NONE = 1       /* the raw kernel */
} df_crf_normalization;

typedef enum df_crf_filter {
    DF_CRF_FILTER_LATTICE = 0, /* permutohedral lattice: linear in pixels, approximate */
    DF_CRF_FILTER_EXACT = 1    /* every pixel pair: exact, O(pixels^2) per iteration, for small
                                  images and for checking the lattice */
} df_crf_filter;

/* Published parameter sets (specs/crf.md). */
typedef enum df_crf_preset {
    DF_CRF_PRESET_HRDV2 = 0, /* Gaussian sxy 3 compat 10; bilateral sxy 80 srgb 13 compat 10 */
    DF_CRF_PRESET_STEGO = 1  /* Gaussian sxy 1 compat 3; bilateral sxy 67 srgb 3 compat 4 */
} df_crf_preset;

/* Sets the DF_PARAM_CRF_* kernel parameters and iterations (10) of a preset in options; other
 * keys are left alone. */
DF_API df_status df_crf_preset_apply(df_options *options, df_crf_preset preset);

/* Mean-field inference on a width x height image. rgb: width * height * 3 bytes, row-major;
 * unary: width * height * labels floats, the labels of each pixel contiguous (pixel-major), read
 * as `kind` says. options (NULL: defaults, the HR-Dv2 preset) holds DF_PARAM_CRF_*. Outputs, each
 * may be NULL: probabilities (width * height * labels floats, same layout) gets the final Q;
 * label_map (width * height) the label of highest Q, the lowest index on ties. The pairwise
 * message of each pixel excludes the pixel itself, with either filter. Errors: DF_E_INVALID_ARG
 * for no labels, an empty image, or non-finite unaries; DF_E_OUT_OF_MEMORY. */
DF_API df_status df_crf_infer(const uint8_t *rgb, size_t width, size_t height, const float *unary, size_t labels,
                              df_crf_unary kind, const df_options *options, float *probabilities,
                              int32_t *label_map);

#ifdef __cplusplus
}
#endif

#endif /* DINOFEAT_CRF_H */
