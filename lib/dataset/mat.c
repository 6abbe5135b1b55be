/* MATLAB level-5 .mat files as Potsdam is distributed (IIC's preprocessing, scipy's savemat): the
 * first numeric array of the file as an image. Written here rather than taken from libmatio,
 * which would bring HDF5 into every build for one dataset; the format is the documented one
 * (MATLAB "MAT-File Format", level 5), and the tests read files scipy wrote, compressed or not. */
#include "dataset_internal.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum { MI_INT8 = 1, MI_UINT8, MI_INT16, MI_UINT16, MI_INT32, MI_UINT32, MI_SINGLE, MI_DOUBLE = 9, MI_INT64 = 12,
       MI_UINT64, MI_MATRIX, MI_COMPRESSED };

typedef struct cursor {
    const unsigned char *p, *end;
    int swap; /* the file was written big-endian */
} cursor;

static uint32_t u32(const cursor *c, const unsigned char *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return c->swap ? __builtin_bswap32(v) : v;
}

/* The next data element: its type, its bytes, and the cursor past it (padded to 8 bytes, except
 * the small format that packs up to 4 bytes into the tag). */
static int next_element(cursor *c, uint32_t *type, const unsigned char **data, uint32_t *size) {
    if (c->end - c->p < 8) return -1;
    const uint32_t first = u32(c, c->p);
    if (first >> 16) { /* small data element */
        *type = first & 0xffff, *size = first >> 16, *data = c->p + 4;
        if (*size > 4) return -1;
        c->p += 8;
        return 0;
    }
    *type = first, *size = u32(c, c->p + 4), *data = c->p + 8;
    if ((size_t)(c->end - *data) < *size) return -1;
    const size_t padded = *type == MI_COMPRESSED ? *size : (*size + 7u) & ~7u;
    c->p = *data + ((size_t)(c->end - *data) < padded ? (size_t)(c->end - *data) : padded);
    return 0;
}

static size_t type_size(uint32_t type) {
    switch (type) {
    case MI_INT8: case MI_UINT8: return 1;
    case MI_INT16: case MI_UINT16: return 2;
    case MI_INT32: case MI_UINT32: case MI_SINGLE: return 4;
    case MI_DOUBLE: case MI_INT64: case MI_UINT64: return 8;
    default: return 0;
    }
}

/* Element i of a stored array as a double (MATLAB may store a class in a smaller type). */
static double value_at(const cursor *c, uint32_t type, const unsigned char *data, size_t i) {
    unsigned char b[8];
    const size_t n = type_size(type);
    memcpy(b, data + i * n, n);
    if (c->swap)
        for (size_t k = 0; k < n / 2; k++) {
            unsigned char t = b[k];
            b[k] = b[n - 1 - k], b[n - 1 - k] = t;
        }
    switch (type) {
    case MI_INT8: return (int8_t)b[0];
    case MI_UINT8: return b[0];
    case MI_INT16: { int16_t v; memcpy(&v, b, 2); return v; }
    case MI_UINT16: { uint16_t v; memcpy(&v, b, 2); return v; }
    case MI_INT32: { int32_t v; memcpy(&v, b, 4); return v; }
    case MI_UINT32: { uint32_t v; memcpy(&v, b, 4); return v; }
    case MI_SINGLE: { float v; memcpy(&v, b, 4); return v; }
    case MI_DOUBLE: { double v; memcpy(&v, b, 8); return v; }
    case MI_INT64: { int64_t v; memcpy(&v, b, 8); return (double)v; }
    default: { uint64_t v; memcpy(&v, b, 8); return (double)v; }
    }
}

/* A numeric matrix element's contents (flags, dimensions, name, real part) as an 8-bit image:
 * H x W grey or H x W x C with the first three channels (Potsdam's fourth is infrared). Column-
 * major values; integers as they are (0..255), floating values x 255 truncated, as torchvision's
 * to_pil_image makes them in STEGO's loader. */
static df_status matrix_image(const cursor *outer, const unsigned char *data, uint32_t size, const char *path,
                              df_image **out) {
    cursor c = {data, data + size, outer->swap};
    uint32_t type, n, dims_size, real_type, real_size;
    const unsigned char *flags, *dims, *name, *real;
    if (next_element(&c, &type, &flags, &n) != 0 || n < 8 || next_element(&c, &type, &dims, &dims_size) != 0 ||
        type != MI_INT32 || next_element(&c, &type, &name, &n) != 0 || next_element(&c, &real_type, &real, &real_size) != 0)
        return dfi_error(DF_E_FORMAT, "%s: a malformed matrix", path);
    const uint32_t class_ = u32(&c, flags) & 0xff, complex_ = u32(&c, flags) & 0x800;
    /* DF_E_FORMAT for a cell, struct or text array: the caller looks on for a numeric one */
    if (class_ < 6 || class_ > 15) return dfi_error(DF_E_FORMAT, "%s: a MATLAB array of class %u, not a numeric one", path, class_);
    if (complex_) return dfi_error(DF_E_UNSUPPORTED, "%s: a complex array, not an image", path);
    const size_t rank = dims_size / 4, h = u32(&c, dims), w = rank > 1 ? u32(&c, dims + 4) : 1,
                 channels = rank > 2 ? u32(&c, dims + 8) : 1;
    const int floating = class_ == 6 || class_ == 7;
    /* the stored values must hold every element: compared by division, so no product overflows */
    const size_t room = type_size(real_type) ? real_size / type_size(real_type) : 0;
    if (rank > 3 || h == 0 || w == 0 || channels == 0 || channels == 2 || room == 0 || h > room / w ||
        h * w > room / channels)
        return dfi_error(DF_E_UNSUPPORTED, "%s: a %zu-dimensional array of %zu x %zu x %zu, not an image", path, rank, h,
                         w, channels);
    const size_t kept = channels >= 3 ? 3 : 1;
    uint8_t *pixels = malloc(h * w * kept);
    if (pixels == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    for (size_t k = 0; k < kept; k++)
        for (size_t x = 0; x < w; x++)
            for (size_t y = 0; y < h; y++) {
                double v = value_at(&c, real_type, real, y + h * (x + w * k));
                if (floating) v = v * 255.0;
                if (!(v >= 0 && v < 256)) {
                    free(pixels);
                    return dfi_error(DF_E_UNSUPPORTED, "%s: value %g at (%zu, %zu) is outside 0..255", path, v, x, y);
                }
                pixels[(y * w + x) * kept + k] = (uint8_t)v;
            }
    df_status status = df_image_from_pixels(pixels, w, h, kept, 8, 0, out);
    free(pixels);
    return status;
}

/* The inflated contents of a compressed element (new). */
static df_status inflate_element(const unsigned char *data, uint32_t size, const char *path, unsigned char **out,
                                 size_t *length) {
    size_t capacity = (size_t)size * 4 + 64;
    *out = NULL;
    for (;;) {
        unsigned char *grown = realloc(*out, capacity);
        if (grown == NULL) return free(*out), dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
        *out = grown;
        uLongf produced = capacity;
        const int rc = uncompress(*out, &produced, data, size);
        if (rc == Z_OK) {
            *length = produced;
            return DF_OK;
        }
        if (rc != Z_BUF_ERROR || capacity > ((size_t)1 << 30)) { /* 1 GiB: no image of a dataset is near */
            free(*out);
            *out = NULL;
            return dfi_error(DF_E_FORMAT, "%s: a compressed element that does not inflate (zlib %d)", path, rc);
        }
        capacity *= 4;
    }
}

df_status dfi_mat_load(const char *path, df_image **out) {
    unsigned char *file = NULL;
    size_t size = 0;
    df_status status = dfi_read_file(path, &file, &size);
    if (status != DF_OK) return status;
    if (size < 128 || !((file[126] == 'I' && file[127] == 'M') || (file[126] == 'M' && file[127] == 'I'))) {
        free(file);
        return dfi_error(DF_E_FORMAT, "%s: not a MATLAB level-5 .mat file (version 7.3 files are HDF5: save with "
                                      "-v7 or scipy.io.savemat)", path);
    }
    cursor c = {file + 128, file + size, file[126] == 'M'};
    status = dfi_error(DF_E_FORMAT, "%s: holds no numeric array", path);
    uint32_t type, length;
    const unsigned char *data;
    while (status == DF_E_FORMAT && next_element(&c, &type, &data, &length) == 0) {
        unsigned char *inflated = NULL;
        size_t inflated_size = 0;
        if (type == MI_COMPRESSED) {
            status = inflate_element(data, length, path, &inflated, &inflated_size);
            if (status == DF_OK) {
                cursor inner = {inflated, inflated + inflated_size, c.swap};
                if (next_element(&inner, &type, &data, &length) != 0 || type != MI_MATRIX)
                    status = dfi_error(DF_E_FORMAT, "%s: a compressed element holds no matrix", path);
                if (status == DF_OK) status = matrix_image(&inner, data, length, path, out);
            }
        } else if (type == MI_MATRIX) {
            status = matrix_image(&c, data, length, path, out);
        }
        free(inflated);
    }
    free(file);
    return status;
}
