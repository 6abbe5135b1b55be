/* Windows bitmaps as SUIM distributes its masks: uncompressed 24- and 32-bit pixels or 1-, 4- and
 * 8-bit palette indices, rows bottom-up (or top-down for a negative height), each padded to four
 * bytes. Written here rather than taken from a general image library (libstb would add a
 * dependency and a large decoder for one dataset's masks); the format is Microsoft's documented
 * BITMAPINFOHEADER and its V4/V5 extensions, and the tests read files PIL wrote. */
#include "dataset_internal.h"
#include "../image/image_internal.h"

#include <stdlib.h>
#include <string.h>

enum { FILE_HEADER = 14, BI_RGB = 0, BI_BITFIELDS = 3 };

static uint32_t le32(const unsigned char *p) {
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* Where a 32-bit pixel's red, green and blue bytes are: BI_RGB stores B, G, R, unused; BI_BITFIELDS
 * must name byte-aligned masks. 0, or -1 for masks no byte holds. */
static int channel_bytes(const unsigned char *info, size_t available, uint32_t compression, int bytes[3]) {
    bytes[0] = 2, bytes[1] = 1, bytes[2] = 0;
    if (compression == BI_RGB) return 0;
    /* the masks follow a 40-byte header, or sit inside a V4/V5 one at the same place */
    if (available < 52) return -1;
    for (int c = 0; c < 3; c++) {
        const uint32_t mask = le32(info + 40 + 4 * c);
        int found = -1;
        for (int b = 0; b < 4; b++)
            if (mask == 0xffu << (8 * b)) found = b;
        if (found < 0) return -1;
        bytes[c] = found;
    }
    return 0;
}

/* The palette's colours (B, G, R, reserved each) as RGB; entries the file lacks stay black. */
static df_status read_palette(const unsigned char *file, size_t size, uint32_t info_end, uint32_t used, int bits,
                              const char *path, uint8_t palette[256][3]) {
    const uint32_t entries = used ? used : 1u << bits;
    if (entries > 256 || info_end + 4 * (size_t)entries > size)
        return dfi_error(DF_E_FORMAT, "%s: a palette of %u colours that the file does not hold", path, entries);
    memset(palette, 0, 256 * 3);
    for (uint32_t i = 0; i < entries; i++) {
        const unsigned char *e = file + info_end + 4 * i;
        palette[i][0] = e[2], palette[i][1] = e[1], palette[i][2] = e[0];
    }
    return DF_OK;
}

/* Row y (top to bottom) of the stored pixels into RGB. */
static void decode_row(const unsigned char *row, size_t width, int bits, const int bytes[3], uint8_t palette[256][3],
                       uint8_t *rgb) {
    for (size_t x = 0; x < width; x++, rgb += 3) {
        if (bits >= 24) {
            const unsigned char *p = row + x * (size_t)(bits / 8);
            rgb[0] = p[bytes[0]], rgb[1] = p[bytes[1]], rgb[2] = p[bytes[2]];
            continue;
        }
        const size_t bit = x * (size_t)bits;
        const unsigned index = (row[bit / 8] >> (8 - bits - bit % 8)) & ((1u << bits) - 1);
        memcpy(rgb, palette[index], 3);
    }
}

df_status dfi_bmp_load(const char *path, const df_options *options, df_image **out) {
    unsigned char *file = NULL;
    size_t size = 0;
    df_status status = dfi_read_file(path, &file, &size);
    if (status != DF_OK) return status;
    const uint32_t info_size = size >= FILE_HEADER + 4 ? le32(file + FILE_HEADER) : 0;
    if (size < FILE_HEADER + 40 || file[0] != 'B' || file[1] != 'M' || info_size < 40 ||
        FILE_HEADER + (size_t)info_size > size) {
        free(file);
        return dfi_error(DF_E_FORMAT, "%s: not a Windows bitmap (.bmp) with a BITMAPINFOHEADER", path);
    }
    const unsigned char *info = file + FILE_HEADER;
    const int32_t width = (int32_t)le32(info + 4), signed_height = (int32_t)le32(info + 8);
    const int bits = le16(info + 14);
    const uint32_t compression = le32(info + 16), offset = le32(file + 10), used = le32(info + 32);
    const int top_down = signed_height < 0;
    const size_t w = width > 0 ? (size_t)width : 0,
                 h = signed_height == INT32_MIN ? 0 : (size_t)(top_down ? -(int64_t)signed_height : signed_height);
    int bytes[3];
    const int palette_bits = bits == 1 || bits == 4 || bits == 8;
    if (!(((bits == 24 || bits == 32) && compression == BI_RGB) || (bits == 32 && compression == BI_BITFIELDS) ||
          (palette_bits && compression == BI_RGB)) ||
        channel_bytes(info, size - FILE_HEADER, compression, bytes) != 0)
        status = dfi_error(DF_E_UNSUPPORTED, "%s: a %d-bit bitmap with compression %u (uncompressed 1-, 4-, 8-, 24- "
                                             "and 32-bit bitmaps are read)", path, bits, compression);
    if (status == DF_OK && (w == 0 || h == 0))
        status = dfi_error(DF_E_FORMAT, "%s: a bitmap of %d x %d", path, width, signed_height);
    if (status == DF_OK) status = dfi_check_pixel_limit(w, h, options, "bitmap");
    const size_t stride = ((w * (size_t)bits + 31) / 32) * 4;
    if (status == DF_OK && (offset > size || (size - offset) / stride < h))
        status = dfi_error(DF_E_FORMAT, "%s: truncated (%zu rows of %zu bytes from byte %u, the file has %zu)", path, h,
                           stride, offset, size);
    uint8_t palette[256][3];
    if (status == DF_OK && palette_bits)
        status = read_palette(file, size, FILE_HEADER + info_size, used, bits, path, palette);
    if (status == DF_OK) status = df_image_new(w, h, 3, 8, out);
    for (size_t y = 0; status == DF_OK && y < h; y++) {
        const unsigned char *row = file + offset + (top_down ? y : h - 1 - y) * stride;
        decode_row(row, w, bits, bytes, palette, (uint8_t *)df_image_pixels(*out) + y * w * 3);
    }
    free(file);
    return status;
}
