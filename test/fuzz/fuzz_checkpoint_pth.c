/* libFuzzer target: the .pth reader (zip container and restricted unpickler) must refuse any
 * malformed input cleanly and never read outside it. */
#include "checkpoint/state_dict.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* A private copy, so reads past the end are caught by the sanitizer. */
    unsigned char *copy = malloc(size ? size : 1);
    if (copy == NULL) return 0;
    memcpy(copy, data, size);
    dfi_state_dict *dict = calloc(1, sizeof *dict);
    if (dict != NULL) {
        dict->bytes = copy;
        dict->size = size;
        dict->container = "pth";
        if (dfi_pth_parse(copy, size, dict) == DF_OK)
            for (size_t i = 0; i < dict->count; i++) (void)dfi_entry_numel(&dict->entries[i]);
        dfi_state_dict_free(dict);
    }
    free(copy);
    return 0;
}
