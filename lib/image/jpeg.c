/* JPEG decoding with libjpeg-turbo's libjpeg API: unlike TurboJPEG 2.x it tells a truncated file
 * (an error here) from harmless corruption warnings (logged), hands us the EXIF segment, and lets
 * us bound the number of progressive scans. */
#include "image_internal.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

/* A progressive JPEG may carry thousands of tiny scans, each costing a pass over the
 * coefficients: a few kilobytes could then take minutes. Real encoders write about ten. */
#define DFI_JPEG_MAX_SCANS 500

typedef struct jpeg_context {
    struct jpeg_error_mgr error;
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX + 64];
    int warned;
} jpeg_context;

static void on_jpeg_error(j_common_ptr cinfo) {
    jpeg_context *context = (jpeg_context *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, text);
    snprintf(context->message, sizeof context->message, "invalid JPEG: %s", text);
    longjmp(context->jump, 1);
}

static void on_jpeg_message(j_common_ptr cinfo, int level) {
    if (level >= 0) return; /* trace messages */
    jpeg_context *context = (jpeg_context *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, text);
    if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
        snprintf(context->message, sizeof context->message,
                 "truncated JPEG: the data ends before the image does (%s)", text);
        longjmp(context->jump, 1);
    }
    if (!context->warned) dfi_log(DF_LOG_WARNING, "JPEG: %s", text);
    context->warned = 1;
}

static void on_jpeg_progress(j_common_ptr cinfo) {
    jpeg_context *context = (jpeg_context *)cinfo->err;
    j_decompress_ptr decompress = (j_decompress_ptr)cinfo;
    if (cinfo->is_decompressor && decompress->input_scan_number > DFI_JPEG_MAX_SCANS) {
        snprintf(context->message, sizeof context->message,
                 "invalid JPEG: more than %d progressive scans", DFI_JPEG_MAX_SCANS);
        longjmp(context->jump, 1);
    }
}

int dfi_is_jpeg(const unsigned char *data, size_t size) {
    return size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
}

static int find_exif_orientation(j_decompress_ptr cinfo) {
    for (jpeg_saved_marker_ptr marker = cinfo->marker_list; marker; marker = marker->next)
        if (marker->marker == JPEG_APP0 + 1) {
            int orientation = dfi_exif_orientation(marker->data, marker->data_length);
            if (orientation != 1) return orientation;
        }
    return 1;
}

/* CMYK from Adobe files is stored inverted (0 = full ink); others are plain. */
static void cmyk_to_rgb(const JSAMPLE *cmyk, unsigned char *rgb, size_t width, int inverted) {
    for (size_t x = 0; x < width; x++) {
        unsigned c = cmyk[4 * x], m = cmyk[4 * x + 1], y = cmyk[4 * x + 2], k = cmyk[4 * x + 3];
        if (!inverted) {
            c = 255 - c;
            m = 255 - m;
            y = 255 - y;
            k = 255 - k;
        }
        rgb[3 * x] = (unsigned char)((c * k + 127) / 255);
        rgb[3 * x + 1] = (unsigned char)((m * k + 127) / 255);
        rgb[3 * x + 2] = (unsigned char)((y * k + 127) / 255);
    }
}

df_status dfi_jpeg_decode(const unsigned char *data, size_t size, const df_options *options,
                          df_image **out) {
    struct jpeg_decompress_struct cinfo;
    jpeg_context context;
    memset(&context, 0, sizeof context);
    cinfo.err = jpeg_std_error(&context.error);
    context.error.error_exit = on_jpeg_error;
    context.error.emit_message = on_jpeg_message;
    context.progress.progress_monitor = on_jpeg_progress;
    df_image *volatile image = NULL;
    JSAMPLE *volatile cmyk_row = NULL;
    df_status status = DF_OK;
    if (setjmp(context.jump)) {
        status = dfi_error(DF_E_FORMAT, "%s", context.message);
        goto done;
    }
    jpeg_create_decompress(&cinfo);
    cinfo.progress = &context.progress;
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&cinfo, TRUE);
    status = dfi_check_pixel_limit(cinfo.image_width, cinfo.image_height, options, "a JPEG");
    if (status != DF_OK) goto done;
    int is_cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cinfo.jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE
                            : is_cmyk                               ? JCS_CMYK
                                                                    : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    size_t channels = is_cmyk ? 3 : (size_t)cinfo.output_components;
    df_image *allocated;
    status = dfi_image_alloc(cinfo.output_width, cinfo.output_height, channels, 8, &allocated);
    if (status != DF_OK) goto done;
    image = allocated;
    if (is_cmyk && (cmyk_row = malloc((size_t)cinfo.output_width * 4)) == NULL) {
        status = dfi_error(DF_E_OUT_OF_MEMORY, "cannot allocate a CMYK row");
        goto done;
    }
    size_t row_bytes = dfi_image_row_bytes(image);
    while (cinfo.output_scanline < cinfo.output_height) {
        unsigned char *row = image->pixels + (size_t)cinfo.output_scanline * row_bytes;
        JSAMPROW target = is_cmyk ? cmyk_row : row;
        jpeg_read_scanlines(&cinfo, &target, 1);
        if (is_cmyk) cmyk_to_rgb(cmyk_row, row, image->width, cinfo.saw_Adobe_marker);
    }
    int orientation = dfi_option_int(options, DF_PARAM_IMAGE_APPLY_EXIF) ? find_exif_orientation(&cinfo) : 1;
    jpeg_finish_decompress(&cinfo);
    if (orientation != 1) {
        df_image *oriented;
        status = dfi_image_orient(image, orientation, &oriented);
        if (status != DF_OK) goto done;
        df_image_free(image);
        image = oriented;
    }
done:
    jpeg_destroy_decompress(&cinfo);
    free(cmyk_row);
    if (status != DF_OK) {
        df_image_free(image);
        return status;
    }
    *out = image;
    return DF_OK;
}
