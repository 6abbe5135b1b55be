/* Reading checkpoint containers (PyTorch .pth zip archives, safetensors) into a flat list of
 * named tensors that point into the file's bytes. Nested dicts become dotted names
 * ("teacher.backbone.cls_token"). Nothing here knows about models. */
#ifndef DINOFEAT_LIB_CHECKPOINT_STATE_DICT_H
#define DINOFEAT_LIB_CHECKPOINT_STATE_DICT_H

#include "../internal.h"
#include "dinofeat/tensor.h"

typedef struct dfi_tensor_entry {
    char *name;
    df_dtype dtype;
    int32_t ndim;
    int64_t shape[DF_TENSOR_MAX_DIMS];
    int64_t strides[DF_TENSOR_MAX_DIMS]; /* in elements */
    const unsigned char *data;           /* the first element, inside the file's bytes */
} dfi_tensor_entry;

typedef struct dfi_state_dict {
    dfi_tensor_entry *entries;
    size_t count, capacity;
    const char *container; /* "pth" or "safetensors" */
    /* The bytes the entries point into: a mapping of the file, or memory the caller keeps. */
    const unsigned char *bytes;
    size_t size;
    int mapped;
    /* The attention heads the file records (safetensors __metadata__ "dinofeat.heads", which the
     * files this library writes carry); 0 when it records none. */
    int64_t recorded_heads;
} dfi_state_dict;

/* Reads a checkpoint from a file (memory-mapped) or from memory the caller keeps alive. The kind
 * is recognised from the bytes. Errors: DF_E_IO, DF_E_FORMAT (message names the key or the
 * problem), DF_E_UNSUPPORTED (e.g. the pre-1.6 PyTorch format). */
df_status dfi_state_dict_read_file(const char *path, dfi_state_dict **out);
df_status dfi_state_dict_read_memory(const unsigned char *bytes, size_t size, dfi_state_dict **out);
void dfi_state_dict_free(dfi_state_dict *dict);

/* The entry with that name, or NULL. */
const dfi_tensor_entry *dfi_state_dict_find(const dfi_state_dict *dict, const char *name);
/* Elements in the entry. */
int64_t dfi_entry_numel(const dfi_tensor_entry *entry);

/* Adds an entry (copies name); fails on a duplicate name. Used by the readers. */
df_status dfi_state_dict_add(dfi_state_dict *dict, const char *name, const dfi_tensor_entry *entry);

/* The container parsers, over bytes that stay alive. */
df_status dfi_pth_parse(const unsigned char *bytes, size_t size, dfi_state_dict *dict);
df_status dfi_safetensors_parse(const unsigned char *bytes, size_t size, dfi_state_dict *dict);

#endif
