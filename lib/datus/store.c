/* The DatUS² store (.dfds), little-endian: "DFDATUS\0", u32 format version, u32 header length, a
 * JSON header with the per-image settings, then one record per image: "DSEG", u32 payload length,
 * the payload (u32 name length, the name, u32 width, height, gh, gw, count, dim, gh * gw int32
 * segment ids, count x dim float32 features) and the payload's u32 CRC-32. The header is written
 * to a temporary file and renamed; records are appended and flushed one by one, so a killed run
 * leaves at worst a torn last record, which opening cuts off. */
#include "datus_internal.h"
#include "../checkpoint/json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static const char magic[8] = {'D', 'F', 'D', 'A', 'T', 'U', 'S', 0};
static const char record_tag[4] = {'D', 'S', 'E', 'G'};
#define FORMAT_VERSION 1u
#define MAX_HEADER 4096u
#define MAX_NAME 4096u

static int header_text(const dfi_datus_settings *s, char *text, size_t size) {
    int length = snprintf(text, size,
                          "{\"format\": \"dinofeat datus store\", \"threshold\": %lld, \"size\": %lld, "
                          "\"resize\": %lld, \"crop\": %lld, \"seed\": %lld, \"library\": \"%s\"}",
                          (long long)s->threshold, (long long)s->size, (long long)s->resize, (long long)s->crop,
                          (long long)s->seed, df_version_string());
    return length > 0 && (size_t)length < size ? length : -1;
}

static df_status create_store(const df_datus *run) {
    char header[MAX_HEADER];
    const int length = header_text(&run->settings, header, sizeof header);
    if (length < 0) return dfi_error(DF_E_INTERNAL, "store header too long");
    dfi_output out;
    df_status status = dfi_output_open(run->path, &out);
    if (status != DF_OK) return status;
    const uint32_t version = FORMAT_VERSION, size = (uint32_t)length;
    errno = 0;
    const int failed = fwrite(magic, 1, 8, out.file) != 8 || fwrite(&version, 4, 1, out.file) != 1 ||
                       fwrite(&size, 4, 1, out.file) != 1 ||
                       fwrite(header, 1, (size_t)length, out.file) != (size_t)length;
    return dfi_output_commit(&out, run->path, failed);
}

/* The stored settings must be the ones asked for: records made otherwise cannot be mixed. */
static df_status check_settings(const char *path, const dfi_json *json, const dfi_datus_settings *want) {
    static const char *const names[5] = {"threshold", "size", "resize", "crop", "seed"};
    const int64_t wanted[5] = {want->threshold, want->size, want->resize, want->crop, want->seed};
    const dfi_json *format = dfi_json_member(json, "format");
    if (json->kind != DFI_JSON_OBJECT || format == NULL || format->kind != DFI_JSON_STRING ||
        strcmp(format->string, "dinofeat datus store") != 0)
        return dfi_error(DF_E_FORMAT, "%s: the header is not a DatUS store's", path);
    for (int i = 0; i < 5; i++) {
        int64_t stored;
        if (dfi_json_integer(json, names[i], &stored) != 0)
            return dfi_error(DF_E_FORMAT, "%s: the header lacks '%s'", path, names[i]);
        if (stored != wanted[i])
            return dfi_error(DF_E_INVALID_ARG, "%s was made with %s %lld, this run asks for %lld: use the same "
                             "settings to resume, or delete %s (or choose another store) to start over", path, names[i],
                             (long long)stored, (long long)wanted[i], path);
    }
    return DF_OK;
}

static df_status read_header(const df_datus *run, FILE *f) {
    char head[16];
    uint32_t version, length;
    if (fread(head, 1, 16, f) != 16 || memcmp(head, magic, 8) != 0)
        return dfi_error(DF_E_FORMAT, "%s: not a dinofeat DatUS store", run->path);
    memcpy(&version, head + 8, 4);
    memcpy(&length, head + 12, 4);
    if (version > FORMAT_VERSION)
        return dfi_error(DF_E_UNSUPPORTED, "%s: store format %u is newer than this build's %u", run->path, version,
                         FORMAT_VERSION);
    char text[MAX_HEADER];
    if (version == 0 || length > MAX_HEADER || fread(text, 1, length, f) != length)
        return dfi_error(DF_E_FORMAT, "%s: truncated or corrupt header", run->path);
    dfi_json *json = NULL;
    if (dfi_json_parse(text, length, &json) != DF_OK) return dfi_error(DF_E_FORMAT, "%s: the header is not JSON", run->path);
    df_status status = check_settings(run->path, json, &run->settings);
    dfi_json_free(json);
    return status;
}

static uint32_t u32_at(const unsigned char *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Adds a record to memory only (the file has it already, or is about to). */
static df_status remember(df_datus *run, const char *name, size_t name_length, const uint32_t fields[6],
                          const int32_t *grid, const float *features) {
    const size_t cells = (size_t)fields[2] * fields[3], count = fields[4], dim = fields[5];
    if (run->count == run->capacity) {
        const size_t capacity = run->capacity ? 2 * run->capacity : 64;
        dfi_datus_record *grown = realloc(run->records, capacity * sizeof *grown);
        if (grown == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
        run->records = grown, run->capacity = capacity;
    }
    if (run->segments + count > run->feature_rows) {
        const size_t rows = 2 * (run->segments + count) + 64;
        float *grown = realloc(run->features, rows * dim * sizeof *grown);
        if (grown == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory for %zu segment features", rows);
        run->features = grown, run->feature_rows = rows;
    }
    dfi_datus_record *r = &run->records[run->count];
    r->name = malloc(name_length + 1);
    r->grid = malloc((cells ? cells : 1) * sizeof *r->grid);
    if (r->name == NULL || r->grid == NULL) {
        free(r->name);
        free(r->grid);
        return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    }
    memcpy(r->name, name, name_length);
    r->name[name_length] = 0;
    memcpy(r->grid, grid, cells * sizeof *grid);
    r->width = fields[0], r->height = fields[1], r->gh = fields[2], r->gw = fields[3], r->count = fields[4];
    r->first = run->segments;
    memcpy(run->features + run->segments * dim, features, count * dim * sizeof *features);
    run->segments += count;
    run->dim = dim;
    run->count++;
    free(run->clusters);
    run->clusters = NULL;
    return DF_OK;
}

/* The payload's fields, checked: sizes consistent with its length, ids within 0..count. */
static df_status parse_payload(df_datus *run, const unsigned char *p, size_t length) {
    if (length < 4) return DF_E_FORMAT;
    const size_t name_length = u32_at(p);
    if (name_length == 0 || name_length > MAX_NAME || length < 4 + name_length + 24) return DF_E_FORMAT;
    uint32_t fields[6];
    for (int i = 0; i < 6; i++) fields[i] = u32_at(p + 4 + name_length + 4 * (size_t)i);
    const size_t cells = (size_t)fields[2] * fields[3], values = (size_t)fields[4] * fields[5];
    if (length != 4 + name_length + 24 + 4 * cells + 4 * values || fields[5] == 0 || memchr(p + 4, 0, name_length))
        return DF_E_FORMAT;
    if (run->dim != 0 && fields[5] != run->dim) return DF_E_FORMAT;
    const unsigned char *grid = p + 4 + name_length + 24;
    for (size_t i = 0; i < cells; i++) {
        const int32_t id = (int32_t)u32_at(grid + 4 * i);
        if (id < 0 || (uint32_t)id > fields[4]) return DF_E_FORMAT;
    }
    int32_t *ids = malloc((cells ? cells : 1) * sizeof *ids);
    float *features = malloc((values ? values : 1) * sizeof *features);
    df_status status = ids && features ? DF_OK : DF_E_OUT_OF_MEMORY;
    if (status == DF_OK) {
        memcpy(ids, grid, 4 * cells);
        memcpy(features, grid + 4 * cells, 4 * values);
        status = remember(run, (const char *)p + 4, name_length, fields, ids, features);
    }
    free(ids);
    free(features);
    return status;
}

/* Reads one record; *torn gets 1 when the file ends inside it. */
static df_status read_record(df_datus *run, FILE *f, int *torn) {
    unsigned char head[8];
    *torn = 0;
    const size_t got = fread(head, 1, 8, f);
    if (got < 8) {
        *torn = got > 0;
        return got == 0 ? DF_E_CANCELLED : DF_E_FORMAT; /* DF_E_CANCELLED: a clean end */
    }
    const uint32_t length = u32_at(head + 4);
    if (memcmp(head, record_tag, 4) != 0) return DF_E_FORMAT;
    unsigned char *payload = malloc((size_t)length + 4);
    if (payload == NULL) return DF_E_OUT_OF_MEMORY;
    df_status status = DF_OK;
    if (fread(payload, 1, (size_t)length + 4, f) != (size_t)length + 4) *torn = 1, status = DF_E_FORMAT;
    else if (crc32(0L, payload, length) != u32_at(payload + length)) status = DF_E_FORMAT;
    else status = parse_payload(run, payload, length);
    free(payload);
    return status;
}

/* Reads every record; a bad one at the end is a killed run's and is cut off, one elsewhere is
 * damage and refused. */
static df_status read_records(df_datus *run, FILE *f) {
    for (;;) {
        const long at = ftell(f);
        int torn;
        df_status status = read_record(run, f, &torn);
        if (status == DF_E_CANCELLED) return DF_OK;
        if (status == DF_E_OUT_OF_MEMORY) return dfi_error(status, "out of memory reading %s", run->path);
        if (status == DF_OK) continue;
        if (!torn && fgetc(f) != EOF)
            return dfi_error(DF_E_FORMAT, "%s: record %zu (at byte %ld) is corrupt", run->path, run->count, at);
        dfi_log(DF_LOG_WARNING, "%s: cutting off a partial record at byte %ld (an interrupted run)", run->path, at);
        if (truncate(run->path, (off_t)at) != 0)
            return dfi_error(DF_E_IO, "%s: cannot cut off the partial record: %s", run->path, strerror(errno));
        return DF_OK;
    }
}

df_status dfi_datus_store_open(df_datus *run) {
    FILE *f = fopen(run->path, "rb");
    df_status status = DF_OK;
    if (f == NULL && errno != ENOENT) return dfi_error(DF_E_IO, "%s: cannot open: %s", run->path, strerror(errno));
    if (f == NULL) status = create_store(run);
    else {
        status = read_header(run, f);
        /* a store of other settings that holds no record yet (a run that failed before its first
         * image) costs nothing to replace: refusing it would only make the user delete it */
        const int empty = status == DF_E_INVALID_ARG && fgetc(f) == EOF;
        if (status == DF_OK) status = read_records(run, f);
        fclose(f);
        if (empty) {
            dfi_log(DF_LOG_INFO, "%s: replacing an empty store made with other settings", run->path);
            status = create_store(run);
        }
    }
    if (status != DF_OK) return status;
    run->file = fopen(run->path, "ab");
    if (run->file == NULL) return dfi_error(DF_E_IO, "%s: cannot append: %s", run->path, strerror(errno));
    if (fseek(run->file, 0, SEEK_END) != 0 || (run->end = ftell(run->file)) < 0)
        return dfi_error(DF_E_IO, "%s: cannot seek: %s", run->path, strerror(errno));
    return DF_OK;
}

static int write_u32(FILE *f, uint32_t v) { return fwrite(&v, 4, 1, f) == 1 ? 0 : -1; }

df_status dfi_datus_store_append(df_datus *run, const char *name, uint32_t width, uint32_t height, const int32_t *grid,
                                 uint32_t gh, uint32_t gw, const float *features, uint32_t count, size_t dim) {
    const size_t name_length = strlen(name), cells = (size_t)gh * gw, values = (size_t)count * dim;
    if (name_length == 0 || name_length > MAX_NAME) return dfi_error(DF_E_INVALID_ARG, "names are 1 to %u bytes", MAX_NAME);
    const size_t length = 4 + name_length + 24 + 4 * cells + 4 * values;
    if (length > UINT32_MAX) return dfi_error(DF_E_LIMIT, "a record of %zu bytes is too large", length);
    unsigned char *payload = malloc(length);
    if (payload == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    const uint32_t fields[6] = {width, height, gh, gw, count, (uint32_t)dim}, n = (uint32_t)name_length;
    memcpy(payload, &n, 4);
    memcpy(payload + 4, name, name_length);
    memcpy(payload + 4 + name_length, fields, 24);
    memcpy(payload + 4 + name_length + 24, grid, 4 * cells);
    memcpy(payload + 4 + name_length + 24 + 4 * cells, features, 4 * values);
    const uint32_t crc = (uint32_t)crc32(0L, payload, (uInt)length);
    int failed = fwrite(record_tag, 1, 4, run->file) != 4 || write_u32(run->file, (uint32_t)length) != 0 ||
                 fwrite(payload, 1, length, run->file) != length || write_u32(run->file, crc) != 0;
    failed |= fflush(run->file) != 0;
    const int saved = errno;
    free(payload);
    if (failed) { /* cut the torn record off, so later appends follow a whole one */
        clearerr(run->file);
        if (ftruncate(fileno(run->file), (off_t)run->end) != 0)
            dfi_log(DF_LOG_WARNING, "%s: cannot cut off a failed record: %s", run->path, strerror(errno));
        return dfi_error(DF_E_IO, "%s: cannot append: %s", run->path, strerror(saved ? saved : EIO));
    }
    run->end += 12 + (long long)length;
    return remember(run, name, name_length, fields, grid, features);
}
