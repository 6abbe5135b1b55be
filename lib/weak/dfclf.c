/* The classifier file (.dfclf): "DFCLF" magic, a format version, a JSON header saying what the
 * classifier needs (feature set, channels, classes, classifier), the classifier, and an end
 * marker; written to a temporary file and renamed, so a crash never leaves half a file. */
#include "weak_internal.h"
#include "../checkpoint/json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char magic[8] = {'D', 'F', 'C', 'L', 'F', 0, '\r', '\n'};
static const char end_marker[8] = {'D', 'F', 'C', 'L', 'F', 'E', 'N', 'D'};
#define FORMAT_VERSION 1u

static int write_file(const df_weak *weak, FILE *f) {
    char header[512];
    int length = snprintf(header, sizeof header,
                          "{\"format\": \"dinofeat classifier\", \"features\": \"classical\", \"channels\": %d, "
                          "\"classes\": %zu, \"classifier\": \"random_forest\", \"trees\": %zu, "
                          "\"library\": \"%s\"}",
                          DF_CLASSICAL_CHANNELS, weak->classes, dfi_forest_trees(weak->forest), df_version_string());
    uint32_t version = FORMAT_VERSION, size = (uint32_t)length;
    return fwrite(magic, 1, 8, f) != 8 || fwrite(&version, 4, 1, f) != 1 || fwrite(&size, 4, 1, f) != 1 ||
                   fwrite(header, 1, (size_t)length, f) != (size_t)length || dfi_forest_write(weak->forest, f) != 0 ||
                   fwrite(end_marker, 1, 8, f) != 8
               ? -1
               : 0;
}

df_status df_weak_save(const df_weak *weak, const char *path) {
    DFI_CHECK_NOT_NULL(weak);
    DFI_CHECK_NOT_NULL(path);
    size_t length = strlen(path);
    char *temporary = malloc(length + 32);
    if (temporary == NULL) DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "out of memory"));
    snprintf(temporary, length + 32, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(temporary, "wb");
    if (f == NULL) {
        df_status status = dfi_error(DF_E_IO, "%s: cannot create: %s", temporary, strerror(errno));
        free(temporary);
        DFI_RETURN(status);
    }
    int failed = write_file(weak, f);
    failed |= fflush(f) != 0;
    int saved = errno;
    failed |= fclose(f) != 0;
    if (!failed && rename(temporary, path) != 0) failed = 1, saved = errno;
    df_status status = failed ? dfi_error(DF_E_IO, "%s: cannot write: %s", path, strerror(saved ? saved : EIO)) : DF_OK;
    if (failed) remove(temporary);
    free(temporary);
    DFI_RETURN(status);
}

static df_status read_all(const char *path, unsigned char **data, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return dfi_error(DF_E_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t capacity = 1 << 16, used = 0, got;
    unsigned char *buffer = malloc(capacity);
    while (buffer && (got = fread(buffer + used, 1, capacity - used, f)) > 0) {
        used += got;
        if (used == capacity) {
            unsigned char *grown = realloc(buffer, capacity *= 2);
            if (grown == NULL) free(buffer);
            buffer = grown;
        }
    }
    int error = ferror(f);
    fclose(f);
    if (buffer == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory reading %s", path);
    if (error) {
        free(buffer);
        return dfi_error(DF_E_IO, "%s: read error", path);
    }
    *data = buffer;
    *size = used;
    return DF_OK;
}

/* The header's promises, checked against what this build can run. */
static df_status parse_header(const char *path, const unsigned char *text, size_t length, size_t *classes) {
    dfi_json *json = NULL;
    df_status status = dfi_json_parse((const char *)text, length, &json);
    if (status != DF_OK) return dfi_error(DF_E_FORMAT, "%s: the header is not JSON", path);
    const dfi_json *features = dfi_json_member(json, "features"), *classifier = dfi_json_member(json, "classifier");
    const dfi_json *channels = dfi_json_member(json, "channels"), *count = dfi_json_member(json, "classes");
    if (json->kind != DFI_JSON_OBJECT || !features || features->kind != DFI_JSON_STRING || !classifier ||
        classifier->kind != DFI_JSON_STRING || !channels || !channels->is_integer || !count || !count->is_integer ||
        count->integer < 1 || count->integer > 65535)
        status = dfi_error(DF_E_FORMAT, "%s: the header lacks features, classifier, channels or classes", path);
    else if (strcmp(features->string, "classical") != 0 || channels->integer != DF_CLASSICAL_CHANNELS)
        status = dfi_error(DF_E_UNSUPPORTED, "%s: feature set '%s' with %lld channels is not one this build runs", path,
                           features->string, (long long)channels->integer);
    else if (strcmp(classifier->string, "random_forest") != 0)
        status = dfi_error(DF_E_UNSUPPORTED, "%s: classifier '%s' is not one this build runs", path, classifier->string);
    else
        *classes = (size_t)count->integer;
    dfi_json_free(json);
    return status;
}

static df_status parse(const char *path, const unsigned char *data, size_t size, df_weak *weak) {
    uint32_t version, length;
    if (size < 16 || memcmp(data, magic, 8) != 0) return dfi_error(DF_E_FORMAT, "%s: not a dinofeat classifier file", path);
    memcpy(&version, data + 8, 4);
    memcpy(&length, data + 12, 4);
    if (version > FORMAT_VERSION)
        return dfi_error(DF_E_UNSUPPORTED, "%s: format version %u is newer than this build's %u", path, version,
                         FORMAT_VERSION);
    if (version == 0 || length > size - 16) return dfi_error(DF_E_FORMAT, "%s: truncated or corrupt header", path);
    df_status status = parse_header(path, data + 16, length, &weak->classes);
    if (status != DF_OK) return status;
    weak->kind.features = DFI_WEAK_CLASSICAL;
    size_t at = 16 + (size_t)length, used = 0;
    status = dfi_forest_read(data + at, size - at, DF_CLASSICAL_CHANNELS, weak->classes, &weak->forest, &used);
    if (status != DF_OK) {
        char reason[256]; /* a copy: dfi_error rewrites the buffer it would read from */
        snprintf(reason, sizeof reason, "%s", df_last_error_message());
        return dfi_error(status, "%s: %s", path, reason);
    }
    at += used;
    if (size - at != 8 || memcmp(data + at, end_marker, 8) != 0)
        return dfi_error(DF_E_FORMAT, "%s: truncated (no end marker)", path);
    return DF_OK;
}

df_status df_weak_load(const char *path, df_weak **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_NOT_NULL(path);
    unsigned char *data = NULL;
    size_t size = 0;
    df_status status = read_all(path, &data, &size);
    if (status != DF_OK) DFI_RETURN(status);
    df_weak *weak = calloc(1, sizeof *weak);
    status = weak ? parse(path, data, size, weak) : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    free(data);
    if (status != DF_OK) {
        df_weak_free(weak);
        DFI_RETURN(status);
    }
    *out = weak;
    return DF_OK;
}
