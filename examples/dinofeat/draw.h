/* What the segmentation verbs write: label PNGs, overlays with boxes, box lists. */
#ifndef DINOFEAT_CLI_DRAW_H
#define DINOFEAT_CLI_DRAW_H

#include "dinofeat/core.h"
#include "dinofeat/image.h"

/* The colour of class c: a fixed 20-colour table, then a hash. */
void cli_class_colour(int32_t c, uint8_t out[3]);
/* Writes labels (w x h) as a grey PNG of the label values: 8-bit when every value is 0..255,
 * else 16-bit. */
df_status cli_write_label_png(const int32_t *labels, size_t w, size_t h, const char *path);
/* Writes the RGB image with, where given, classes blended in their colours (half opacity) or a
 * mask tinted, and boxes (4 int32 each, of box_classes' colours, or white) and the superbox (red)
 * outlined. */
df_status cli_write_overlay_png(const uint8_t *rgb, size_t w, size_t h, const int32_t *classes, const uint8_t *mask,
                                const int32_t *boxes, const int32_t *box_classes, size_t box_count,
                                const int32_t *superbox, const char *path);
/* Loads path as RGB, resized to width x height (bicubic) when both are non-zero. */
df_status cli_load_rgb(const char *path, size_t width, size_t height, df_image **out);

#endif
