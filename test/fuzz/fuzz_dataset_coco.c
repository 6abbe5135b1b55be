/* libFuzzer target: the scanner of COCO's instances JSON (COCO-20k's boxes) must refuse any
 * malformed input cleanly and never read past it. Each input is written to one temporary file. */
#include "dataset/dataset_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char path[64];
    if (path[0] == '\0') {
        snprintf(path, sizeof path, "/tmp/dinofeat_fuzz_coco_XXXXXX");
        int fd = mkstemp(path);
        if (fd < 0) abort();
        close(fd);
    }
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0) abort();
    char *names[2] = {"train2014/COCO_train2014_000000000009.jpg", "train2014/COCO_train2014_000000000025.jpg"};
    int32_t *values = NULL;
    size_t *offsets = NULL;
    dfi_coco_boxes(path, names, 2, &values, &offsets);
    free(values);
    free(offsets);
    return 0;
}
