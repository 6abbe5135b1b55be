/* EXIF orientation: reading tag 0x0112 from a JPEG's APP1 segment and applying it. */
#include "image_internal.h"

#include <string.h>

static unsigned read_u16(const unsigned char *p, int big_endian) {
    return big_endian ? (unsigned)(p[0] << 8 | p[1]) : (unsigned)(p[1] << 8 | p[0]);
}

static uint32_t read_u32(const unsigned char *p, int big_endian) {
    return big_endian ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
                      : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

int dfi_exif_orientation(const unsigned char *app1, size_t size) {
    static const unsigned char exif_header[6] = {'E', 'x', 'i', 'f', 0, 0};
    if (size < 6 + 8 || memcmp(app1, exif_header, 6) != 0) return 1;
    const unsigned char *tiff = app1 + 6;
    size_t tiff_size = size - 6;
    int big_endian;
    if (tiff[0] == 'M' && tiff[1] == 'M') big_endian = 1;
    else if (tiff[0] == 'I' && tiff[1] == 'I') big_endian = 0;
    else return 1;
    if (read_u16(tiff + 2, big_endian) != 42) return 1;
    uint32_t ifd = read_u32(tiff + 4, big_endian);
    if (ifd > tiff_size - 2) return 1;
    unsigned entries = read_u16(tiff + ifd, big_endian);
    for (unsigned i = 0; i < entries; i++) {
        size_t entry = (size_t)ifd + 2 + (size_t)i * 12;
        if (entry + 12 > tiff_size) return 1;
        if (read_u16(tiff + entry, big_endian) != 0x0112) continue;
        /* Type SHORT (3), count 1: the value sits in the first two bytes of the value field. */
        if (read_u16(tiff + entry + 2, big_endian) != 3) return 1;
        unsigned orientation = read_u16(tiff + entry + 8, big_endian);
        return orientation >= 1 && orientation <= 8 ? (int)orientation : 1;
    }
    return 1;
}

/* Where output pixel (x, y) comes from in a width x height source, for each orientation, as
 * PIL's ImageOps.exif_transpose does it. */
static void source_of(int orientation, size_t x, size_t y, size_t width, size_t height,
                      size_t *sx, size_t *sy) {
    switch (orientation) {
    case 2: *sx = width - 1 - x; *sy = y; break;              /* mirror horizontally */
    case 3: *sx = width - 1 - x; *sy = height - 1 - y; break; /* rotate 180 */
    case 4: *sx = x; *sy = height - 1 - y; break;             /* mirror vertically */
    case 5: *sx = y; *sy = x; break;                          /* transpose */
    case 6: *sx = y; *sy = height - 1 - x; break;             /* rotate 90 clockwise */
    case 7: *sx = width - 1 - y; *sy = height - 1 - x; break; /* transverse */
    case 8: *sx = width - 1 - y; *sy = x; break;              /* rotate 90 counter-clockwise */
    default: *sx = x; *sy = y; break;
    }
}

df_status dfi_image_orient(const df_image *image, int orientation, df_image **out) {
    int swaps = orientation >= 5;
    size_t out_width = swaps ? image->height : image->width;
    size_t out_height = swaps ? image->width : image->height;
    df_image *result;
    df_status status = dfi_image_alloc(out_width, out_height, image->channels, image->bit_depth, &result);
    if (status != DF_OK) return status;
    size_t pixel_bytes = image->channels * image->bit_depth / 8;
    size_t in_row = dfi_image_row_bytes(image), out_row = dfi_image_row_bytes(result);
    for (size_t y = 0; y < out_height; y++)
        for (size_t x = 0; x < out_width; x++) {
            size_t sx, sy;
            source_of(orientation, x, y, image->width, image->height, &sx, &sy);
            memcpy(result->pixels + y * out_row + x * pixel_bytes,
                   image->pixels + sy * in_row + sx * pixel_bytes, pixel_bytes);
        }
    *out = result;
    return DF_OK;
}
