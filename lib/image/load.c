/* df_image_load / df_image_load_memory: read the bytes, recognise the format, decode. */
#include "image_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* Reads a whole regular file; its size is known up front, so one allocation suffices. */
static df_status read_file(const char *path, unsigned char **data, size_t *size) {
    FILE *file = fopen(path, "rb");
    if (file == NULL) return dfi_error(DF_E_IO, "cannot open: %s", strerror(errno));
    struct stat info;
    if (fstat(fileno(file), &info) != 0 || !S_ISREG(info.st_mode)) {
        fclose(file);
        return dfi_error(DF_E_IO, "not a regular file");
    }
    size_t length = (size_t)info.st_size;
    unsigned char *buffer = malloc(length ? length : 1);
    if (buffer == NULL) {
        fclose(file);
        return dfi_error(DF_E_OUT_OF_MEMORY, "cannot allocate %zu bytes to read it", length);
    }
    size_t got = fread(buffer, 1, length, file);
    int failed = ferror(file);
    fclose(file);
    if (failed || got != length) {
        free(buffer);
        return dfi_error(DF_E_IO, "read error");
    }
    *data = buffer;
    *size = length;
    return DF_OK;
}

df_status df_image_load(const char *path, const df_options *options, df_image **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_NOT_NULL(path);
    unsigned char *data = NULL;
    size_t size = 0;
    df_status status = read_file(path, &data, &size);
    if (status == DF_OK) status = decode(data, size, options, out);
    free(data);
    if (status != DF_OK) {
        char reason[768];
        snprintf(reason, sizeof reason, "%s", df_last_error_message());
        dfi_error(status, "%s: %s", path, reason);
    }
    DFI_RETURN(status);
}
