/* df_image_load / df_image_load_memory: read the bytes, recognise the format, decode. */
#include "image_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static df_status decode(const unsigned char *data, size_t size, const df_options *options,
                        df_image **out) {
    if (dfi_is_png(data, size)) return dfi_png_decode(data, size, options, out);
    if (dfi_is_jpeg(data, size)) return dfi_jpeg_decode(data, size, options, out);
    if (size == 0) return dfi_error(DF_E_FORMAT, "the data is empty");
    return dfi_error(DF_E_FORMAT, "not a PNG or JPEG file (unrecognised signature)");
}

df_status df_image_load_memory(const void *data, size_t size, const df_options *options,
                               df_image **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_ARG(data != NULL || size == 0, "data is NULL");
    DFI_RETURN(decode(data, size, options, out));
}

df_status df_image_load(const char *path, const df_options *options, df_image **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_NOT_NULL(path);
    unsigned char *data = NULL;
    size_t size = 0;
    df_status status = dfi_read_file(path, &data, &size);
    if (status != DF_OK) DFI_RETURN(status);
    status = decode(data, size, options, out);
    free(data);
    if (status != DF_OK) { /* the decoders' messages lack the path */
        char reason[768];
        snprintf(reason, sizeof reason, "%s", df_last_error_message());
        dfi_error(status, "%s: %s", path, reason);
    }
    DFI_RETURN(status);
}
