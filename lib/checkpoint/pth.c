/* PyTorch's .pth: a zip holding ARCHIVE/data.pkl (the pickled object) and ARCHIVE/data/KEY for
 * each storage. Tensors in nested dicts become entries named by their dotted key path. */
#include "state_dict.h"
#include "unpickle.h"
#include "zip.h"

#include <stdlib.h>
#include <string.h>

typedef struct archive {
    dfi_zip_entry *entries;
    size_t count;
    char prefix[256]; /* "ARCHIVE/" */
} archive;

static const dfi_zip_entry *find_entry(const archive *a, const char *suffix) {
    char name[512];
    snprintf(name, sizeof name, "%s%s", a->prefix, suffix);
    for (size_t i = 0; i < a->count; i++)
        if (strcmp(a->entries[i].name, name) == 0) return &a->entries[i];
    return NULL;
}

/* A tensor's view of its storage must stay inside the storage's bytes. */
static df_status add_tensor(dfi_state_dict *dict, const archive *a, const char *name, const dfi_pickle_value *tensor) {
    const dfi_pickle_value *storage = tensor->storage;
    char suffix[300];
    snprintf(suffix, sizeof suffix, "data/%s", storage->string);
    const dfi_zip_entry *file = find_entry(a, suffix);
    if (file == NULL) return dfi_error(DF_E_FORMAT, "tensor '%s': its storage '%s' is missing from the archive", name, suffix);
    if (file->data == NULL) return dfi_error(DF_E_UNSUPPORTED, "tensor '%s': its storage is compressed", name);
    size_t element = df_dtype_size(storage->dtype);
    if ((uint64_t)storage->numel > file->size / element)
        return dfi_error(DF_E_FORMAT, "tensor '%s': the storage holds %llu bytes, not %lld elements", name,
                         (unsigned long long)file->size, (long long)storage->numel);
    dfi_tensor_entry entry = {.dtype = storage->dtype, .ndim = tensor->ndim};
    int64_t last = tensor->offset; /* the furthest element the view reaches */
    int empty = 0;
    for (int32_t i = 0; i < tensor->ndim; i++) {
        entry.shape[i] = tensor->shape[i];
        entry.strides[i] = tensor->strides[i];
        if (tensor->shape[i] == 0) empty = 1;
        else if (tensor->strides[i] > ((int64_t)1 << 40) / tensor->shape[i])
            return dfi_error(DF_E_FORMAT, "tensor '%s': stride too large", name);
        else last += (tensor->shape[i] - 1) * tensor->strides[i];
    }
    if (!empty && last >= storage->numel)
        return dfi_error(DF_E_FORMAT, "tensor '%s' reaches element %lld of a storage of %lld", name,
                         (long long)last, (long long)storage->numel);
    entry.data = file->data + (size_t)tensor->offset * element;
    return dfi_state_dict_add(dict, name, &entry);
}

static df_status flatten(dfi_state_dict *dict, const archive *a, const dfi_pickle_value *value, const char *prefix, int depth) {
    if (depth > 8) return DF_OK;
    for (size_t i = 0; i + 1 < value->count; i += 2) {
        const dfi_pickle_value *key = value->items[i], *item = value->items[i + 1];
        if (key->kind != DFI_PICKLE_STRING) continue; /* e.g. optimizer state keyed by integers */
        size_t length = strlen(prefix) + strlen(key->string) + 2;
        char *name = malloc(length);
        if (name == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
        snprintf(name, length, "%s%s%s", prefix, *prefix ? "." : "", key->string);
        df_status status = DF_OK;
        if (item->kind == DFI_PICKLE_TENSOR) status = add_tensor(dict, a, name, item);
        else if (item->kind == DFI_PICKLE_DICT) status = flatten(dict, a, item, name, depth + 1);
        free(name);
        if (status != DF_OK) return status;
    }
    return DF_OK;
}

df_status dfi_pth_parse(const unsigned char *bytes, size_t size, dfi_state_dict *dict) {
    archive a = {0};
    df_status status = dfi_zip_list(bytes, size, &a.entries, &a.count);
    if (status != DF_OK) return status;
    const dfi_zip_entry *pickle_entry = NULL;
    for (size_t i = 0; i < a.count && pickle_entry == NULL; i++) {
        const char *slash = strchr(a.entries[i].name, '/');
        if (slash && strcmp(slash, "/data.pkl") == 0 && (size_t)(slash - a.entries[i].name) < sizeof a.prefix - 1) {
            pickle_entry = &a.entries[i];
            snprintf(a.prefix, sizeof a.prefix, "%.*s/", (int)(slash - a.entries[i].name), a.entries[i].name);
        }
    }
    const dfi_zip_entry *byteorder = pickle_entry ? find_entry(&a, "byteorder") : NULL;
    dfi_pickle *pickle = NULL;
    const dfi_pickle_value *root = NULL;
    if (pickle_entry == NULL)
        status = dfi_error(DF_E_FORMAT, "a zip archive without data.pkl: not a PyTorch checkpoint");
    else if (pickle_entry->data == NULL)
        status = dfi_error(DF_E_UNSUPPORTED, "data.pkl is compressed");
    else if (byteorder && byteorder->data && byteorder->size >= 3 && memcmp(byteorder->data, "big", 3) == 0)
        status = dfi_error(DF_E_UNSUPPORTED, "a big-endian checkpoint");
    else
        status = dfi_unpickle(pickle_entry->data, (size_t)pickle_entry->size, &pickle, &root);
    if (status == DF_OK && root->kind != DFI_PICKLE_DICT)
        status = dfi_error(DF_E_FORMAT, "the checkpoint holds no dict of tensors");
    if (status == DF_OK) status = flatten(dict, &a, root, "", 0);
    if (status == DF_OK && dict->count == 0) status = dfi_error(DF_E_FORMAT, "the checkpoint holds no tensors");
    dfi_pickle_free(pickle);
    dfi_zip_entries_free(a.entries, a.count);
    return status;
}
