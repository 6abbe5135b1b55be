/* Colour adjustments as torchvision applies them to PIL images (adjust_brightness, _contrast,
 * _saturation, _hue): Pillow's Image.blend and HSV conversions reproduced bit for bit on 8-bit
 * samples held as floats, shared by df_image_adjust and NeCo's colour jitter. */
#include "image_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

float dfi_luma(const float *p) {
    return (float)(((uint32_t)p[0] * 19595u + (uint32_t)p[1] * 38470u + (uint32_t)p[2] * 7471u + 0x8000u) >> 16);
}

/* Image.blend(other, image, factor) as Pillow computes it: other + factor (image - other) in
 * float32, clipped to 0..255 and truncated (not rounded) to a byte. */
static void blend_towards(float *rgb, size_t n, const float *other, int other_is_grey, double factor) {
    const float alpha = (float)factor;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 3; k++) {
            const float o = other ? other[other_is_grey ? i : 3 * i + k] : 0.0f, t = o + alpha * (rgb[3 * i + k] - o);
            rgb[3 * i + k] = t <= 0.0f ? 0.0f : t >= 255.0f ? 255.0f : truncf(t);
        }
}

static int clip8(int v) { return v < 0 ? 0 : v > 255 ? 255 : v; }

/* Pillow's convert("HSV") of one pixel: bytes, the hue's arithmetic in its float / double mix
 * (checked against Pillow on all 2^24 colours). */
static void rgb_to_hsv_bytes(const float *p, int hsv[3]) {
    const int r = (int)p[0], g = (int)p[1], b = (int)p[2];
    const int maxc = r > g ? (r > b ? r : b) : (g > b ? g : b), minc = r < g ? (r < b ? r : b) : (g < b ? g : b);
    hsv[2] = maxc;
    if (maxc == minc) {
        hsv[0] = hsv[1] = 0;
        return;
    }
    const float cr = (float)(maxc - minc), s = cr / (float)maxc;
    const float rc = (float)(maxc - r) / cr, gc = (float)(maxc - g) / cr, bc = (float)(maxc - b) / cr;
    float h = r == maxc ? bc - gc : g == maxc ? (float)(2.0 + rc - bc) : (float)(4.0 + gc - rc);
    h = (float)fmod(h / 6.0 + 1.0, 1.0);
    hsv[0] = clip8((int)(h * 255.0));
    hsv[1] = clip8((int)(s * 255.0));
}

/* Pillow's convert("RGB") of one HSV pixel (checked on all 2^24 triples). */
static void hsv_bytes_to_rgb(const int hsv[3], float *p) {
    const int v = hsv[2];
    if (hsv[1] == 0) {
        p[0] = p[1] = p[2] = (float)v;
        return;
    }
    const double x = (double)(float)hsv[0] * 6.0 / 255.0;
    const int i = (int)floor(x);
    const float f = (float)(x - (double)(float)i), fs = (float)((double)(float)hsv[1] / 255.0);
    const float lo = (float)clip8((int)round((double)v * (1.0 - fs)));
    const float q = (float)clip8((int)round((double)v * (1.0 - (double)(fs * f))));
    const float t = (float)clip8((int)round((double)v * (1.0 - fs * (1.0 - f))));
    const float hi = (float)v;
    const float table[6][3] = {{hi, t, lo}, {q, hi, lo}, {lo, hi, t}, {lo, q, hi}, {t, lo, hi}, {hi, lo, q}};
    memcpy(p, table[i % 6], 3 * sizeof *p);
}

/* torchvision's adjust_hue on a PIL image: to Pillow's 8-bit HSV, the hue byte shifted by
 * uint8(factor x 255) with wrap-around, back to RGB. */
static void rotate_hue(float *p, double factor) {
    const uint8_t shift = (uint8_t)(int)(factor * 255.0);
    int hsv[3];
    rgb_to_hsv_bytes(p, hsv);
    hsv[0] = (uint8_t)(hsv[0] + shift);
    hsv_bytes_to_rgb(hsv, p);
}

df_status dfi_adjust_rgb(float *rgb, size_t n, df_image_adjustment adjustment, double factor) {
    if (adjustment == DF_ADJUST_BRIGHTNESS) blend_towards(rgb, n, NULL, 0, factor);
    if (adjustment == DF_ADJUST_HUE)
        for (size_t i = 0; i < n; i++) rotate_hue(rgb + 3 * i, factor);
    if (adjustment != DF_ADJUST_CONTRAST && adjustment != DF_ADJUST_SATURATION) return DF_OK;
    float *grey = malloc((n ? n : 1) * sizeof *grey);
    if (!grey) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory for a %zu-pixel grey image", n);
    for (size_t i = 0; i < n; i++) grey[i] = dfi_luma(rgb + 3 * i);
    if (adjustment == DF_ADJUST_CONTRAST) { /* towards the grey image's mean, rounded as PIL's ImageEnhance */
        double mean = 0;
        for (size_t i = 0; i < n; i++) mean += grey[i];
        const float level = n ? (float)floor(mean / (double)n + 0.5) : 0.0f;
        for (size_t i = 0; i < n; i++) grey[i] = level;
    }
    blend_towards(rgb, n, grey, 1, factor);
    free(grey);
    return DF_OK;
}

df_status df_image_adjust(const df_image *image, df_image_adjustment adjustment, double factor, df_image **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_NOT_NULL(image);
    if (image->channels != 3 || image->bit_depth != 8)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "the image has %zu channels of %zu bits: adjustments take 8-bit RGB "
                                               "(df_image_convert first)", image->channels, image->bit_depth));
    const int blend = adjustment == DF_ADJUST_BRIGHTNESS || adjustment == DF_ADJUST_CONTRAST ||
                      adjustment == DF_ADJUST_SATURATION;
    if (!blend && adjustment != DF_ADJUST_HUE)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "unknown adjustment %d", (int)adjustment));
    if (blend ? !(factor >= 0 && isfinite(factor)) : !(factor >= -0.5 && factor <= 0.5))
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "factor %g is outside %s", factor, blend ? "0..inf" : "-0.5..0.5"));
    const size_t n = image->width * image->height;
    float *rgb = malloc((n ? 3 * n : 1) * sizeof *rgb);
    if (!rgb) DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "out of memory for a %zu x %zu image", image->width, image->height));
    for (size_t i = 0; i < 3 * n; i++) rgb[i] = image->pixels[i];
    df_image *result = NULL;
    df_status status = dfi_adjust_rgb(rgb, n, adjustment, factor);
    if (status == DF_OK) status = dfi_image_alloc(image->width, image->height, 3, 8, &result);
    for (size_t i = 0; status == DF_OK && i < 3 * n; i++) result->pixels[i] = (unsigned char)rgb[i];
    free(rgb);
    if (status == DF_OK) *out = result;
    DFI_RETURN(status);
}
