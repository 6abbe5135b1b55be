/* Small helpers several modules share: whole-file reads, a seedable generator, row normalisation. */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

df_status dfi_read_file(const char *path, unsigned char **data, size_t *size) {
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

uint64_t dfi_splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
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
