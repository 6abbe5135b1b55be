/* For the fuzz targets of readers that take a path: each input written whole to one temporary
 * file, made at the first input and reused. */
#ifndef DINOFEAT_FUZZ_INPUT_FILE_H
#define DINOFEAT_FUZZ_INPUT_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* The file's path, holding data; a failure to write it aborts (the harness, not the reader). */
static const char *fuzz_input_file(const uint8_t *data, size_t size) {
    static char path[64];
    if (path[0] == '\0') {
        snprintf(path, sizeof path, "/tmp/dinofeat_fuzz_XXXXXX");
        int fd = mkstemp(path);
        if (fd < 0) abort();
        close(fd);
    }
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0) abort();
    return path;
}

#endif
