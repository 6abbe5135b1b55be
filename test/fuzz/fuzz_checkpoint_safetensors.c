/* libFuzzer target: the safetensors reader (header length, JSON, offsets) must refuse any
 * malformed input cleanly and never read outside it. */
#include "checkpoint/state_dict.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    unsigned char *copy = malloc(size ? size : 1);
    if (copy == NULL) return 0;
    memcpy(copy, data, size);
    dfi_state_dict *dict = NULL;
    if (dfi_state_dict_read_memory(copy, size, &dict) == DF_OK) {
        /* Touch the first and last byte of every tensor: they must lie inside the input. */
        volatile unsigned char sink = 0;
        for (size_t i = 0; i < dict->count; i++) {
            const dfi_tensor_entry *e = &dict->entries[i];
            size_t bytes = (size_t)dfi_entry_numel(e) * df_dtype_size(e->dtype);
            if (bytes) sink ^= e->data[0] ^ e->data[bytes - 1];
        }
        (void)sink;
        dfi_state_dict_free(dict);
    }
    free(copy);
    return 0;
}
