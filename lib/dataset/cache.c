/* Feature caches (.dffeat), little-endian: "DFFEAT\0\0", u32 format version, u32 header length, a
 * JSON header (items, grid, dim, dtype, the dataset's size, five-crop and stretch, the model's identity and
 * stride), then every item's h x w x D features in item order. Built batch by batch, each batch
 * appended and flushed, so a stopped build resumes from its last whole item. */
#include "dataset_internal.h"
#include "../model/identity.h"
#include "dinofeat/cache.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char magic[8] = {'D', 'F', 'F', 'E', 'A', 'T', 0, 0};
#define FORMAT_VERSION 1u
#define MAX_HEADER 4096u

struct df_feature_cache {
    int fd;
    char *path;
    size_t items, height, width, dim, record; /* record: bytes per item */
    int half;
    int64_t size, five_crop, stride, stretch;
    long long data_offset;
    dfi_model_identity model;
};

void df_feature_cache_free(df_feature_cache *cache) {
    if (cache == NULL) return;
    if (cache->fd >= 0) close(cache->fd);
    free(cache->path);
    free(cache);
}

/* ---- float16 ------------------------------------------------------------------------- */

/* IEEE binary16 of value, rounded to nearest even (as torch's .half()). */
static uint16_t half_of(float value) {
    uint32_t x;
    memcpy(&x, &value, 4);
    const uint32_t sign = (x >> 16) & 0x8000u, magnitude = x & 0x7fffffffu;
    if (magnitude > 0x7f800000u) return (uint16_t)(sign | 0x7e00u); /* NaN */
    if (magnitude >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds past 65504: inf */
    if (magnitude < 0x38800000u) { /* below 2^-14: a subnormal half, m x 2^-24, m rounded to even */
        float f;
        memcpy(&f, &magnitude, 4);
        return (uint16_t)(sign | (uint32_t)lrintf(f * 16777216.0f));
    }
    uint32_t h = ((((magnitude >> 23) - 112u) << 10) | ((magnitude >> 13) & 0x3ffu));
    const uint32_t rest = magnitude & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) h++; /* a carry into the exponent is right */
    return (uint16_t)(sign | h);
}

static float float_of(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
    if (exponent == 0) {
        const float f = ldexpf((float)mantissa, -24);
        return sign ? -f : f;
    }
    const uint32_t x = exponent == 31 ? sign | 0x7f800000u | (mantissa << 13)
                                      : sign | ((exponent + 112u) << 23) | (mantissa << 13);
    float f;
    memcpy(&f, &x, 4);
    return f;
}

/* ---- header --------------------------------------------------------------------------- */

static int header_text(const df_feature_cache *c, char *text, size_t size) {
    char model[512];
    if (dfi_model_identity_json(&c->model, model, sizeof model) != 0) return -1;
    const int n = snprintf(text, size,
                           "{\"format\": \"dinofeat feature cache\", \"items\": %zu, \"height\": %zu, \"width\": %zu, "
                           "\"dim\": %zu, \"dtype\": \"%s\", \"size\": %lld, \"five_crop\": %lld, \"stretch\": %lld, "
                           "\"stride\": %lld, \"model\": %s, \"library\": \"%s\"}",
                           c->items, c->height, c->width, c->dim, c->half ? "float16" : "float32", (long long)c->size,
                           (long long)c->five_crop, (long long)c->stretch, (long long)c->stride, model,
                           df_version_string());
    return n > 0 && (size_t)n < size ? n : -1;
}

static int read_size(const dfi_json *json, const char *key, size_t *out) {
    const dfi_json *v = dfi_json_member(json, key);
    if (v == NULL || !v->is_integer || v->integer < 0) return -1;
    *out = (size_t)v->integer;
    return 0;
}

static df_status parse_header(df_feature_cache *c, const char *text, size_t length) {
    dfi_json *json = NULL;
    if (dfi_json_parse(text, length, &json) != DF_OK) return dfi_error(DF_E_FORMAT, "%s: the header is not JSON", c->path);
    const dfi_json *format = dfi_json_member(json, "format"), *dtype = dfi_json_member(json, "dtype");
    size_t size, five_crop, stride, stretch = 0;
    int bad = format == NULL || format->kind != DFI_JSON_STRING || strcmp(format->string, "dinofeat feature cache") != 0 ||
              dtype == NULL || dtype->kind != DFI_JSON_STRING || read_size(json, "items", &c->items) ||
              read_size(json, "height", &c->height) || read_size(json, "width", &c->width) ||
              read_size(json, "dim", &c->dim) || read_size(json, "size", &size) ||
              read_size(json, "five_crop", &five_crop) || read_size(json, "stride", &stride) ||
              (dfi_json_member(json, "stretch") && read_size(json, "stretch", &stretch)) || /* absent before 0.1's stretch */
              dfi_model_identity_from_json(dfi_json_member(json, "model"), &c->model) != 0;
    if (!bad) {
        c->half = strcmp(dtype->string, "float16") == 0;
        bad = !c->half && strcmp(dtype->string, "float32") != 0;
        c->size = (int64_t)size, c->five_crop = (int64_t)five_crop, c->stride = (int64_t)stride;
        c->stretch = (int64_t)stretch;
        c->record = c->height * c->width * c->dim * (c->half ? 2 : 4);
    }
    dfi_json_free(json);
    return bad || c->record == 0 ? dfi_error(DF_E_FORMAT, "%s: not a dinofeat feature cache header", c->path) : DF_OK;
}

/* Reads the header of the file open on c->fd; c->data_offset gets where the features start. */
static df_status read_header(df_feature_cache *c) {
    unsigned char head[16];
    uint32_t version, length;
    if (pread(c->fd, head, 16, 0) != 16 || memcmp(head, magic, 8) != 0)
        return dfi_error(DF_E_FORMAT, "%s: not a dinofeat feature cache", c->path);
    memcpy(&version, head + 8, 4);
    memcpy(&length, head + 12, 4);
    if (version > FORMAT_VERSION)
        return dfi_error(DF_E_UNSUPPORTED, "%s: format version %u is newer than this build's %u", c->path, version,
                         FORMAT_VERSION);
    char text[MAX_HEADER];
    if (version == 0 || length > MAX_HEADER || pread(c->fd, text, length, 16) != (ssize_t)length)
        return dfi_error(DF_E_FORMAT, "%s: truncated or corrupt header", c->path);
    c->data_offset = 16 + (long long)length;
    return parse_header(c, text, length);
}

static long long file_size(int fd) {
    const off_t end = lseek(fd, 0, SEEK_END);
    return (long long)end;
}

/* ---- reading -------------------------------------------------------------------------- */

df_status df_feature_cache_open(const char *path, df_feature_cache **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_NOT_NULL(path);
    df_feature_cache *c = calloc(1, sizeof *c);
    if (c == NULL || (c->path = strdup(path)) == NULL) {
        free(c);
        DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "out of memory"));
    }
    c->fd = open(path, O_RDONLY | O_CLOEXEC);
    df_status status = c->fd >= 0 ? read_header(c) : dfi_error(DF_E_IO, "%s: cannot open: %s", path, strerror(errno));
    if (status == DF_OK) {
        const long long whole = (file_size(c->fd) - c->data_offset) / (long long)c->record;
        if (whole < (long long)c->items)
            status = dfi_error(DF_E_FORMAT, "%s: incomplete, %lld of %zu items (build it again to complete it)", path,
                               whole, c->items);
    }
    if (status != DF_OK) {
        df_feature_cache_free(c);
        DFI_RETURN(status);
    }
    *out = c;
    return DF_OK;
}

df_status df_feature_cache_shape(const df_feature_cache *cache, size_t *items, size_t *height, size_t *width,
                                 size_t *dim) {
    DFI_CHECK_NOT_NULL(cache);
    if (items) *items = cache->items;
    if (height) *height = cache->height;
    if (width) *width = cache->width;
    if (dim) *dim = cache->dim;
    return DF_OK;
}

df_status df_feature_cache_read(const df_feature_cache *cache, size_t item, float *out) {
    DFI_CHECK_NOT_NULL(cache);
    DFI_CHECK_NOT_NULL(out);
    if (item >= cache->items) DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "item %zu of %zu", item, cache->items));
    const size_t values = cache->record / (cache->half ? 2 : 4);
    void *buffer = cache->half ? malloc(cache->record) : (void *)out;
    if (buffer == NULL) DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "out of memory"));
    const off_t at = (off_t)(cache->data_offset + (long long)item * (long long)cache->record);
    const ssize_t got = pread(cache->fd, buffer, cache->record, at);
    df_status status = got == (ssize_t)cache->record ? DF_OK
                                                     : dfi_error(DF_E_IO, "%s: cannot read item %zu", cache->path, item);
    for (size_t i = 0; status == DF_OK && cache->half && i < values; i++) out[i] = float_of(((const uint16_t *)buffer)[i]);
    if (cache->half) free(buffer);
    DFI_RETURN(status);
}

const dfi_model_identity *dfi_feature_cache_model(const df_feature_cache *cache) { return &cache->model; }

static df_status differs(const df_feature_cache *c, const dfi_model_identity *given) {
    char want[256], got[256];
    dfi_model_identity_text(&c->model, want, sizeof want);
    dfi_model_identity_text(given, got, sizeof got);
    return dfi_error(DF_E_INVALID_ARG, "%s was computed with %s, not %s", c->path, want, got);
}

df_status df_feature_cache_check_model(const df_feature_cache *cache, df_model *model) {
    DFI_CHECK_NOT_NULL(cache);
    DFI_CHECK_NOT_NULL(model);
    dfi_model_identity given;
    df_status status = dfi_model_identity_of(model, &given);
    if (status == DF_OK && !dfi_model_identity_equal(&given, &cache->model)) status = differs(cache, &given);
    DFI_RETURN(status);
}

/* ---- building ------------------------------------------------------------------------- */

/* What the build's arguments promise; a resumed file must promise the same. */
static df_status describe(df_model *model, const df_dataset *dataset, const df_options *options, df_feature_cache *c) {
    df_status status = dfi_model_identity_of(model, &c->model);
    if (status == DF_OK) status = df_model_info_int(model, DF_MODEL_INFO_STRIDE, &c->stride);
    if (status == DF_OK) status = df_dataset_count(dataset, &c->items);
    c->size = dataset->size, c->five_crop = dataset->five_crop, c->stretch = dataset->stretch;
    c->half = (int)dfi_option_int(options, DF_PARAM_CACHE_HALF);
    if (status == DF_OK && dataset->size <= 0)
        status = dfi_error(DF_E_INVALID_ARG, "the dataset's items need one size: set dataset.size");
    return status;
}

static df_status check_same(const df_feature_cache *want, const df_feature_cache *have) {
    if (!dfi_model_identity_equal(&want->model, &have->model)) return differs(have, &want->model);
    if (want->items != have->items || want->size != have->size || want->five_crop != have->five_crop ||
        want->stretch != have->stretch || want->stride != have->stride || want->half != have->half)
        return dfi_error(DF_E_INVALID_ARG,
                         "%s holds %zu items of size %lld (five-crop %lld, stretch %lld, stride %lld, %s); this build "
                         "asks for %zu of size %lld (five-crop %lld, stretch %lld, stride %lld, %s): use another file",
                         have->path, have->items, (long long)have->size, (long long)have->five_crop,
                         (long long)have->stretch, (long long)have->stride, have->half ? "float16" : "float32",
                         want->items, (long long)want->size, (long long)want->five_crop, (long long)want->stretch,
                         (long long)want->stride, want->half ? "float16" : "float32");
    return DF_OK;
}

/* The patch features of items [first, first + n) into features (n x h x w x D floats, new). */
static df_status batch_features(df_model *model, const df_dataset *dataset, size_t first, size_t n, float **features,
                                int64_t shape[4]) {
    const size_t side = (size_t)dataset->size, plane = 3 * side * side;
    float *pixels = malloc(n * plane * sizeof *pixels);
    df_status status = pixels ? DF_OK : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; status == DF_OK && i < n; i++) {
        df_image *image = NULL, *rgb = NULL;
        df_tensor *x = NULL;
        status = df_dataset_get(dataset, first + i, &image, NULL);
        if (status == DF_OK) status = df_image_convert(image, 3, &rgb);
        if (status == DF_OK) status = df_image_to_tensor(rgb, NULL, NULL, &x);
        if (status == DF_OK) status = df_tensor_copy_to_host(x, pixels + i * plane, plane);
        df_tensor_free(x), df_image_free(rgb), df_image_free(image);
    }
    const int64_t input[4] = {(int64_t)n, 3, (int64_t)side, (int64_t)side};
    df_tensor *x = NULL;
    df_forward *forward = NULL;
    const df_tensor *patch = NULL;
    if (status == DF_OK) status = df_tensor_borrow_host(pixels, 4, input, &x);
    if (status == DF_OK) status = df_model_forward(model, x, DF_OUTPUT_PATCH, &forward);
    if (status == DF_OK) status = df_forward_output(forward, DF_OUTPUT_PATCH, &patch);
    if (status == DF_OK) status = df_tensor_shape(patch, shape, 4);
    if (status == DF_OK) {
        const size_t count = (size_t)(shape[0] * shape[1] * shape[2] * shape[3]);
        *features = malloc(count * sizeof **features);
        status = *features ? df_tensor_copy_to_host(patch, *features, count) : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    }
    df_forward_free(forward);
    df_tensor_free(x);
    free(pixels);
    return status;
}

static df_status append(const df_feature_cache *c, FILE *f, const float *features, size_t items) {
    const size_t values = items * c->height * c->width * c->dim;
    int failed = 0;
    if (!c->half) failed = fwrite(features, sizeof *features, values, f) != values;
    for (size_t i = 0; c->half && !failed && i < values; i++) {
        const uint16_t h = half_of(features[i]);
        failed = fwrite(&h, 2, 1, f) != 1;
    }
    failed |= fflush(f) != 0;
    return failed ? dfi_error(DF_E_IO, "%s: cannot write: %s", c->path, strerror(errno ? errno : EIO)) : DF_OK;
}

/* A new file: the header (to a temporary renamed over path) then appending. */
static df_status create(df_feature_cache *c, FILE **f) {
    char header[MAX_HEADER];
    const int length = header_text(c, header, sizeof header);
    if (length < 0) return dfi_error(DF_E_INTERNAL, "feature cache header too long");
    dfi_output out;
    df_status status = dfi_output_open(c->path, &out);
    if (status != DF_OK) return status;
    const uint32_t version = FORMAT_VERSION, size = (uint32_t)length;
    FILE *t = out.file;
    errno = 0;
    const int failed = fwrite(magic, 1, 8, t) != 8 || fwrite(&version, 4, 1, t) != 1 || fwrite(&size, 4, 1, t) != 1 ||
                       fwrite(header, 1, (size_t)length, t) != (size_t)length;
    if ((status = dfi_output_commit(&out, c->path, failed)) != DF_OK) return status;
    c->data_offset = 16 + length;
    *f = fopen(c->path, "ab");
    return *f ? DF_OK : dfi_error(DF_E_IO, "%s: cannot append: %s", c->path, strerror(errno));
}

/* An existing file: checked against the build, cut to its whole items, opened for appending. */
static df_status reopen(df_feature_cache *want, size_t *done, FILE **f) {
    df_feature_cache have = {.fd = open(want->path, O_RDONLY | O_CLOEXEC), .path = want->path};
    df_status status = have.fd >= 0 ? read_header(&have) : dfi_error(DF_E_IO, "%s: %s", want->path, strerror(errno));
    if (status == DF_OK) status = check_same(want, &have);
    want->height = have.height, want->width = have.width, want->dim = have.dim, want->record = have.record;
    long long whole = 0;
    if (status == DF_OK) {
        whole = (file_size(have.fd) - have.data_offset) / (long long)have.record;
        if (whole > (long long)have.items) whole = (long long)have.items;
        if (truncate(want->path, (off_t)(have.data_offset + whole * (long long)have.record)) != 0)
            status = dfi_error(DF_E_IO, "%s: cannot cut off a partial item: %s", want->path, strerror(errno));
    }
    if (have.fd >= 0) close(have.fd);
    *done = (size_t)whole;
    if (status == DF_OK && (*f = fopen(want->path, "ab")) == NULL)
        status = dfi_error(DF_E_IO, "%s: cannot append: %s", want->path, strerror(errno));
    return status;
}

static df_status fill(df_feature_cache *c, df_model *model, const df_dataset *dataset, size_t batch, size_t done,
                      FILE **f, df_progress_fn progress, void *user_data) {
    df_status status = DF_OK;
    /* batches are [j B, (j + 1) B) also when resuming: the same items in one forward pass give
     * the same bits, where another grouping can round differently */
    for (size_t first = done, n; status == DF_OK && first < c->items; first += n) {
        n = batch - first % batch;
        if (n > c->items - first) n = c->items - first;
        float *features = NULL;
        int64_t shape[4];
        status = batch_features(model, dataset, first, n, &features, shape);
        if (status == DF_OK && *f == NULL) { /* the first batch says the grid */
            c->height = (size_t)shape[1], c->width = (size_t)shape[2], c->dim = (size_t)shape[3];
            status = create(c, f);
        }
        if (status == DF_OK) status = append(c, *f, features, n);
        free(features);
        if (status == DF_OK && progress && progress(user_data, first + n, c->items, "features"))
            status = dfi_error(DF_E_CANCELLED, "cancelled after %zu of %zu items (kept)", first + n, c->items);
    }
    return status;
}

df_status df_feature_cache_build(df_model *model, const df_dataset *dataset, const char *path,
                                 const df_options *options, df_progress_fn progress, void *user_data) {
    DFI_CHECK_NOT_NULL(model);
    DFI_CHECK_NOT_NULL(dataset);
    DFI_CHECK_NOT_NULL(path);
    df_feature_cache want = {.fd = -1, .path = (char *)path};
    FILE *f = NULL;
    size_t done = 0;
    df_status status = describe(model, dataset, options, &want);
    if (status == DF_OK && access(path, F_OK) == 0) status = reopen(&want, &done, &f);
    if (status == DF_OK)
        status = fill(&want, model, dataset, (size_t)dfi_option_int(options, DF_PARAM_CACHE_BATCH), done, &f, progress,
                      user_data);
    if (f != NULL && fclose(f) != 0 && status == DF_OK)
        status = dfi_error(DF_E_IO, "%s: cannot write: %s", path, strerror(errno));
    DFI_RETURN(status);
}
