/* PNG decoding and encoding with libpng's full API: the simplified API would gamma-convert 16-bit
 * data, and microscopy users need their raw 16-bit values. */
#include "image_internal.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct png_context {
    const unsigned char *data;
    size_t size, position;
    char message[256];
} png_context;

static void on_png_error(png_structp png, png_const_charp message) {
    png_context *context = png_get_error_ptr(png);
    snprintf(context->message, sizeof context->message, "%s", message);
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp message) {
    (void)png;
    dfi_log(DF_LOG_WARNING, "PNG: %s", message);
}

static void read_from_memory(png_structp png, png_bytep out, size_t count) {
    png_context *context = png_get_io_ptr(png);
    if (count > context->size - context->position) png_error(png, "truncated PNG data");
    memcpy(out, context->data + context->position, count);
    context->position += count;
}

int dfi_is_png(const unsigned char *data, size_t size) {
    return size >= 8 && png_sig_cmp(data, 0, 8) == 0;
}

/* Normalises every PNG flavour to 8/16-bit grey, grey+alpha, RGB or RGBA in host byte order; with
 * palette_indices, a palette image becomes its 8-bit indices (label maps: PASCAL VOC, Cityscapes). */
static void request_transforms(png_structp png, png_infop info, int palette_indices) {
    int color_type = png_get_color_type(png, info);
    int bit_depth = png_get_bit_depth(png, info);
    int indices = palette_indices && color_type == PNG_COLOR_TYPE_PALETTE;
    if (indices && bit_depth < 8) png_set_packing(png);
    if (color_type == PNG_COLOR_TYPE_PALETTE && !indices) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS) && !indices) png_set_tRNS_to_alpha(png);
    if (bit_depth == 16) {
        const uint16_t probe = 1;
        if (*(const unsigned char *)&probe == 1) png_set_swap(png);
    }
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
}

df_status dfi_png_decode(const unsigned char *data, size_t size, const df_options *options,
                         df_image **out) {
    png_context context = {.data = data, .size = size};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &context, on_png_error,
                                             on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (info == NULL) {
        png_destroy_read_struct(&png, NULL, NULL);
        return dfi_error(DF_E_OUT_OF_MEMORY, "cannot create a PNG decoder");
    }
    /* Written after setjmp and read after a longjmp, hence volatile. */
    df_image *volatile image = NULL;
    png_bytep *volatile rows = NULL;
    df_status status = DF_OK;
    if (setjmp(png_jmpbuf(png))) {
        status = dfi_error(DF_E_FORMAT, "invalid PNG: %s", context.message);
        goto done;
    }
    png_set_read_fn(png, &context, read_from_memory);
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, info);
    status = dfi_check_pixel_limit(png_get_image_width(png, info), png_get_image_height(png, info),
                                   options, "a PNG");
    if (status != DF_OK) goto done;
    request_transforms(png, info, (int)dfi_option_int(options, DF_PARAM_IMAGE_PALETTE_INDICES));
    size_t width = png_get_image_width(png, info), height = png_get_image_height(png, info);
    size_t channels = png_get_channels(png, info), depth = png_get_bit_depth(png, info);
    df_image *allocated;
    status = dfi_image_alloc(width, height, channels, depth, &allocated);
    if (status != DF_OK) goto done;
    image = allocated;
    size_t row_bytes = dfi_image_row_bytes(image);
    if (png_get_rowbytes(png, info) != row_bytes) {
        status = dfi_error(DF_E_INTERNAL, "libpng row size %zu, expected %zu",
                           (size_t)png_get_rowbytes(png, info), row_bytes);
        goto done;
    }
    rows = malloc(height * sizeof *rows);
    if (rows == NULL) {
        status = dfi_error(DF_E_OUT_OF_MEMORY, "cannot allocate row pointers");
        goto done;
    }
    for (size_t y = 0; y < height; y++) rows[y] = image->pixels + y * row_bytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);
done:
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    if (status != DF_OK) {
        df_image_free(image);
        return status;
    }
    *out = image;
    return DF_OK;
}

/* palette: NULL, or colours RGB triples for a one-channel 8-bit image of indices. */
static df_status write_png_stream(const df_image *image, const uint8_t *palette, size_t colours, FILE *file) {
    png_context context = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &context, on_png_error,
                                              on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (info == NULL) {
        png_destroy_write_struct(&png, NULL);
        return dfi_error(DF_E_OUT_OF_MEMORY, "cannot create a PNG encoder");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return dfi_error(DF_E_IO, "cannot write PNG: %s", context.message);
    }
    static const int color_types[] = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
                                      PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
    png_init_io(png, file);
    png_set_IHDR(png, info, (png_uint_32)image->width, (png_uint_32)image->height,
                 (int)image->bit_depth, palette ? PNG_COLOR_TYPE_PALETTE : color_types[image->channels - 1],
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_color entries[256];
    for (size_t i = 0; palette && i < colours; i++)
        entries[i].red = palette[3 * i], entries[i].green = palette[3 * i + 1], entries[i].blue = palette[3 * i + 2];
    if (palette) png_set_PLTE(png, info, entries, (int)colours);
    png_write_info(png, info);
    if (image->bit_depth == 16) {
        const uint16_t probe = 1;
        if (*(const unsigned char *)&probe == 1) png_set_swap(png);
    }
    size_t row_bytes = dfi_image_row_bytes(image);
    for (size_t y = 0; y < image->height; y++)
        png_write_row(png, image->pixels + y * row_bytes);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return DF_OK;
}

static df_status save_atomically(const df_image *image, const uint8_t *palette, size_t colours, const char *path) {
    if (image->width > 0x7fffffff || image->height > 0x7fffffff)
        return dfi_error(DF_E_UNSUPPORTED, "PNG cannot hold %zu x %zu pixels", image->width, image->height);
    dfi_output out;
    df_status status = dfi_output_open(path, &out);
    if (status != DF_OK) return status;
    status = write_png_stream(image, palette, colours, out.file);
    if (status != DF_OK) {
        char reason[512];
        snprintf(reason, sizeof reason, "%s", df_last_error_message());
        dfi_output_commit(&out, path, 1);
        return dfi_error(status, "%s: %s", path, reason);
    }
    return dfi_output_commit(&out, path, 0);
}

df_status df_image_save_png(const df_image *image, const char *path) {
    DFI_CHECK_NOT_NULL(image);
    DFI_CHECK_NOT_NULL(path);
    DFI_RETURN(save_atomically(image, NULL, 0, path));
}

df_status df_image_save_palette_png(const df_image *image, const uint8_t *palette, size_t colours, const char *path) {
    DFI_CHECK_NOT_NULL(image);
    DFI_CHECK_NOT_NULL(palette);
    DFI_CHECK_NOT_NULL(path);
    DFI_CHECK_ARG(colours >= 1 && colours <= 256, "a palette has 1 to 256 colours");
    if (image->channels != 1 || image->bit_depth != 8)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "a palette PNG holds one 8-bit channel of indices"));
    for (size_t i = 0; i < image->width * image->height; i++)
        if (image->pixels[i] >= colours)
            DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "pixel %zu has index %u, past the %zu colours", i, image->pixels[i],
                                 colours));
    DFI_RETURN(save_atomically(image, palette, colours, path));
}
