/* Reading the entries of a zip archive held in memory (PyTorch's .pth container): stored
 * (uncompressed) entries only, zip64 sizes and offsets, every offset checked. */
#ifndef DINOFEAT_LIB_CHECKPOINT_ZIP_H
#define DINOFEAT_LIB_CHECKPOINT_ZIP_H

#include "../internal.h"

typedef struct dfi_zip_entry {
    char *name;                /* NUL-terminated copy */
    const unsigned char *data; /* inside the archive's bytes */
    uint64_t size;
} dfi_zip_entry;

/* *entries is new (dfi_zip_entries_free). Compressed entries are listed with data NULL. */
df_status dfi_zip_list(const unsigned char *bytes, size_t size, dfi_zip_entry **entries, size_t *count);
void dfi_zip_entries_free(dfi_zip_entry *entries, size_t count);

#endif
