/* libFuzzer target: the scanner of COCO's instances JSON (COCO-20k's boxes) must refuse any
 * malformed input cleanly and never read past it. Each input is written to a temporary file. */
#include "dataset/dataset_internal.h"
#include "fuzz_input_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_input_file(data, size);
    char *names[2] = {"train2014/COCO_train2014_000000000009.jpg", "train2014/COCO_train2014_000000000025.jpg"};
    int32_t *values = NULL;
    size_t *offsets = NULL;
    dfi_coco_boxes(path, names, 2, &values, &offsets);
    free(values);
    free(offsets);
    return 0;
}
