/* Small helpers several modules share: whole-file reads, a seedable generator, row normalisation. */
#include "internal.h"
#include "checkpoint/json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

df_status dfi_read_file(const char *path, unsigned char **data, size_t *size) {
    FILE *file = fopen(path, "rb");
    if (file == NULL) return dfi_error(DF_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat info;
    if (fstat(fileno(file), &info) != 0 || !S_ISREG(info.st_mode)) {
        fclose(file);
        return dfi_error(DF_E_IO, "%s: not a regular file", path);
    }
    size_t length = (size_t)info.st_size;
    unsigned char *buffer = malloc(length ? length : 1);
    if (buffer == NULL) {
        fclose(file);
        return dfi_error(DF_E_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes to read it", path, length);
    }
    size_t got = fread(buffer, 1, length, file);
    int failed = ferror(file);
    fclose(file);
    if (failed || got != length) {
        free(buffer);
        return dfi_error(DF_E_IO, "%s: read error", path);
    }
    *data = buffer;
    *size = length;
    return DF_OK;
}

uint64_t dfi_splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

float dfi_uniform24(uint64_t *state) { return (float)(dfi_splitmix64(state) >> 40) * (1.0f / 16777216.0f); }

void dfi_epoch_order(uint64_t seed, uint64_t epoch, size_t items, size_t *order) {
    uint64_t generator = seed * 0x9E3779B97F4A7C15ull + epoch + 1;
    for (size_t i = 0; i < items; i++) order[i] = i;
    for (size_t i = items; i > 1; i--) {
        const size_t j = (size_t)(dfi_splitmix64(&generator) % i);
        const size_t swap = order[i - 1];
        order[i - 1] = order[j], order[j] = swap;
    }
}

float dfi_normal(uint64_t *state) {
    const double u1 = dfi_uniform24(state), u2 = dfi_uniform24(state);
    return (float)(sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2));
}

void dfi_normalise_rows(float *x, size_t n, size_t d) {
#pragma omp parallel for schedule(static) if (n > 64)
    for (size_t i = 0; i < n; i++) {
        double sum = 0;
        for (size_t j = 0; j < d; j++) sum += (double)x[i * d + j] * x[i * d + j];
        const float scale = (float)(1.0 / fmax(sqrt(sum), 1e-12));
        for (size_t j = 0; j < d; j++) x[i * d + j] *= scale;
    }
}

df_status dfi_container_header(const char *path, const unsigned char *data, size_t size, const char magic[8],
                               const char *what, uint32_t newest, const unsigned char **header, size_t *length) {
    uint32_t version, bytes;
    if (size < 16 || memcmp(data, magic, 8) != 0) return dfi_error(DF_E_FORMAT, "%s: not a %s", path, what);
    memcpy(&version, data + 8, 4);
    memcpy(&bytes, data + 12, 4);
    if (version > newest)
        return dfi_error(DF_E_UNSUPPORTED, "%s: format version %u is newer than this build's %u", path, version, newest);
    if (version == 0 || bytes > size - 16) return dfi_error(DF_E_FORMAT, "%s: truncated or corrupt header", path);
    *header = data + 16, *length = bytes;
    return DF_OK;
}

typedef struct container_parts {
    const char *magic, *header, *end;
    uint32_t version;
    size_t length;
    dfi_body_writer body;
    const void *user;
} container_parts;

static int write_container(FILE *f, const void *user) {
    const container_parts *c = user;
    const uint32_t size = (uint32_t)c->length;
    return fwrite(c->magic, 1, 8, f) != 8 || fwrite(&c->version, 4, 1, f) != 1 || fwrite(&size, 4, 1, f) != 1 ||
                   fwrite(c->header, 1, c->length, f) != c->length || c->body(f, c->user) != 0 ||
                   fwrite(c->end, 1, 8, f) != 8
               ? -1
               : 0;
}

df_status dfi_container_save(const char *path, const char magic[8], uint32_t version, const char *header,
                             size_t length, dfi_body_writer body, const void *user, const char end[8]) {
    const container_parts parts = {magic, header, end, version, length, body, user};
    return dfi_atomic_write(path, write_container, &parts);
}

df_status dfi_container_load(const char *path, const char magic[8], const char *what, uint32_t newest,
                             dfi_container_reader read, void *user) {
    unsigned char *data = NULL;
    size_t size = 0, length = 0;
    df_status status = dfi_read_file(path, &data, &size);
    if (status != DF_OK) return status;
    const unsigned char *header = NULL;
    dfi_json *json = NULL;
    status = dfi_container_header(path, data, size, magic, what, newest, &header, &length);
    if (status == DF_OK && dfi_json_parse((const char *)header, length, &json) != DF_OK)
        status = dfi_error(DF_E_FORMAT, "%s: the header is not JSON", path);
    if (status == DF_OK) status = read(path, json, header + length, size - 16 - length, user);
    dfi_json_free(json);
    free(data);
    return status;
}
