/* Label maps and overlays for the segmentation verbs. */
#include "draw.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void cli_class_colour(int32_t c, uint8_t out[3]) {
    static const uint8_t table[20][3] = {
        {31, 119, 180},  {255, 127, 14}, {44, 160, 44},   {214, 39, 40},   {148, 103, 189},
        {140, 86, 75},   {227, 119, 194}, {127, 127, 127}, {188, 189, 34},  {23, 190, 207},
        {174, 199, 232}, {255, 187, 120}, {152, 223, 138}, {255, 152, 150}, {197, 176, 213},
        {196, 156, 148}, {247, 182, 210}, {199, 199, 199}, {219, 219, 141}, {158, 218, 229}};
    if (c >= 0 && c < 20) {
        memcpy(out, table[c], 3);
        return;
    }
    uint32_t h = (uint32_t)c * 2654435761u;
    out[0] = (uint8_t)(h >> 24), out[1] = (uint8_t)(h >> 16), out[2] = (uint8_t)(h >> 8);
}

df_status cli_write_label_png(const int32_t *labels, size_t w, size_t h, const char *path) {
    int wide = 0;
    for (size_t i = 0; i < w * h; i++) wide |= labels[i] < 0 || labels[i] > 255;
    df_image *image = NULL;
    df_status status = df_image_new(w, h, 1, wide ? 16 : 8, &image);
    if (status != DF_OK) return status;
    void *pixels = df_image_pixels(image);
    for (size_t i = 0; i < w * h; i++) {
        if (wide) ((uint16_t *)pixels)[i] = (uint16_t)labels[i];
        else ((uint8_t *)pixels)[i] = (uint8_t)labels[i];
    }
    status = df_image_save_png(image, path);
    df_image_free(image);
    return status;
}

static void outline(uint8_t *p, size_t w, size_t h, const int32_t *box, const uint8_t colour[3]) {
    for (int t = 0; t < 2; t++) { /* two pixels thick, inside the box */
        long x0 = box[0] + t, y0 = box[1] + t, x1 = box[2] - 1 - t, y1 = box[3] - 1 - t;
        if (x0 > x1 || y0 > y1) break;
        for (long x = x0; x <= x1; x++)
            for (int e = 0; e < 2; e++) {
                long y = e ? y1 : y0;
                if (x >= 0 && y >= 0 && (size_t)x < w && (size_t)y < h) memcpy(p + ((size_t)y * w + (size_t)x) * 3, colour, 3);
            }
        for (long y = y0; y <= y1; y++)
            for (int e = 0; e < 2; e++) {
                long x = e ? x1 : x0;
                if (x >= 0 && y >= 0 && (size_t)x < w && (size_t)y < h) memcpy(p + ((size_t)y * w + (size_t)x) * 3, colour, 3);
            }
    }
}

df_status cli_write_overlay_png(const uint8_t *rgb, size_t w, size_t h, const int32_t *classes, const uint8_t *mask,
                                const int32_t *boxes, const int32_t *box_classes, size_t box_count,
                                const int32_t *superbox, const char *path) {
    df_image *image = NULL;
    df_status status = df_image_new(w, h, 3, 8, &image);
    if (status != DF_OK) return status;
    uint8_t *p = df_image_pixels(image);
    static const uint8_t tint[3] = {255, 40, 40}, white[3] = {255, 255, 255}, red[3] = {230, 0, 0};
    for (size_t i = 0; i < w * h; i++) {
        uint8_t colour[3];
        const uint8_t *blend = NULL;
        if (classes) cli_class_colour(classes[i], colour), blend = colour;
        else if (mask && mask[i]) blend = tint;
        for (int c = 0; c < 3; c++) p[i * 3 + c] = blend ? (uint8_t)((rgb[i * 3 + c] + blend[c]) / 2) : rgb[i * 3 + c];
    }
    for (size_t b = 0; b < box_count; b++) {
        uint8_t colour[3];
        if (box_classes) cli_class_colour(box_classes[b], colour);
        outline(p, w, h, boxes + 4 * b, box_classes ? colour : white);
    }
    if (superbox) outline(p, w, h, superbox, red);
    status = df_image_save_png(image, path);
    df_image_free(image);
    return status;
}

df_status cli_load_rgb(const char *path, size_t width, size_t height, df_image **out) {
    df_image *image = NULL, *rgb = NULL;
    *out = NULL;
    df_status status = df_image_load(path, NULL, &image);
    if (status == DF_OK) status = df_image_convert(image, 3, &rgb);
    df_image_free(image);
    if (status == DF_OK && width && height) {
        df_image *sized = NULL;
        status = df_image_resize(rgb, width, height, DF_RESIZE_BICUBIC, &sized);
        df_image_free(rgb);
        rgb = sized;
    }
    if (status == DF_OK) *out = rgb;
    else df_image_free(rgb);
    return status;
}

