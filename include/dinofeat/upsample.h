/*
 * dinofeat upsampling: HR-Dv2 (Docherty et al., 2024) features and attention at pixel resolution,
 * by averaging a backbone's output over invertible transforms of the image (shifts in a Moore or
 * von Neumann neighbourhood, flips, their products) at a reduced patch-embedding stride.
 */
#ifndef DINOFEAT_UPSAMPLE_H
#define DINOFEAT_UPSAMPLE_H

#include "dinofeat/core.h"
#include "dinofeat/model.h"
#include "dinofeat/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum df_ups_neighbourhood {
    DF_UPS_MOORE = 0,      /* 8 directions per shift distance */
    DF_UPS_VON_NEUMANN = 1 /* 4 directions per shift distance */
} df_ups_neighbourhood;

typedef enum df_ups_flips {
    DF_UPS_FLIPS_OFF = 0,
    DF_UPS_FLIPS_ON = 1,      /* identity, horizontal, vertical, each once */
    DF_UPS_FLIPS_OFFICIAL = 2 /* as ON with the identity weighted twice, as the official code's
                                 flip list (which holds it twice) weights it */
} df_ups_flips;

typedef enum df_ups_border {
    DF_UPS_BORDER_WRAP = 0,     /* circular shifts, as the official code */
    DF_UPS_BORDER_ZERO = 1,     /* shifted-in pixels are zero; pixels a view does not see are
                                   averaged over the views that do */
    DF_UPS_BORDER_REPLICATE = 2 /* shifted-in pixels repeat the edge */
} df_ups_border;

typedef enum df_ups_interp {
    DF_UPS_NEAREST_EXACT = 0, /* pixel y takes token floor((y + 0.5) * grid / size), as PyTorch */
    DF_UPS_BILINEAR = 1
} df_ups_interp;

typedef enum df_ups_attention {
    DF_UPS_ATTN_CLS = 0,  /* softmax attention of [CLS] over each patch, last block, per head */
    DF_UPS_ATTN_O = 1,    /* O_h . v_t,h, with O_h the [CLS] attention output of head h: what the
                             official HR-Dv2 experiments use */
    DF_UPS_ATTN_Q = 2,    /* per-head sums of the last block's queries */
    DF_UPS_ATTN_K = 3,    /* ... keys */
    DF_UPS_ATTN_V = 4,    /* ... values */
    DF_UPS_ATTN_NONE = 5
} df_ups_attention;

/* Pixel-resolution features and attention of image, (1, 3, H, W) normalised as
 * df_image_to_tensor makes it. The image is centre-cropped to multiples of the patch size
 * (H', W'), or with DF_PARAM_UPS_PAD zero-padded to them and the result cut back to H, W;
 * features: new, (H', W', D) float32; attention: new, (H', W', heads) float32, unless
 * DF_UPS_ATTN_NONE or attention is NULL. Both on the host unless DF_PARAM_UPS_ON_DEVICE.
 * options (NULL: defaults) holds DF_PARAM_UPS_*; the model's own parameters (heads, position
 * interpolation, attention chunking) apply to every view. Extra memory beyond one forward pass is
 * O(H' W' (D + heads)) whatever the number of transforms. progress (may be NULL) is called after
 * each view; a non-zero return cancels with DF_E_CANCELLED. Errors: DF_E_INVALID_ARG for a stride
 * above the patch size, a shift distance <= 0, an image smaller than one patch. */
DF_API df_status df_upsample(df_model *model, const df_tensor *image, const df_options *options,
                             df_progress_fn progress, void *user_data, df_tensor **features,
                             df_tensor **attention);

/* The number of views (forward passes) options describe: (1 + directions * distances) * flips. */
DF_API df_status df_upsample_view_count(const df_options *options, size_t *out);

#ifdef __cplusplus
}
#endif

#endif /* DINOFEAT_UPSAMPLE_H */
