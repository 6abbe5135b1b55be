/* A restricted unpickler for what torch.save writes of state dicts: dicts (plain and ordered),
 * lists, tuples, strings, numbers, tensors over storages. Only known globals are accepted, and
 * none is ever called: each is interpreted by name. */
#ifndef DINOFEAT_LIB_CHECKPOINT_UNPICKLE_H
#define DINOFEAT_LIB_CHECKPOINT_UNPICKLE_H

#include "../internal.h"
#include "dinofeat/tensor.h"

typedef enum {
    DFI_PICKLE_NONE, DFI_PICKLE_BOOL, DFI_PICKLE_INT, DFI_PICKLE_FLOAT, DFI_PICKLE_STRING,
    DFI_PICKLE_TUPLE, DFI_PICKLE_LIST, DFI_PICKLE_DICT, DFI_PICKLE_GLOBAL, DFI_PICKLE_STORAGE,
    DFI_PICKLE_TENSOR, DFI_PICKLE_OPAQUE
} dfi_pickle_kind;

typedef struct dfi_pickle_value {
    dfi_pickle_kind kind;
    int64_t integer;
    double real;
    char *string;                     /* STRING; GLOBAL: "module.name"; STORAGE: its key */
    struct dfi_pickle_value **items;  /* TUPLE, LIST; DICT: key, value, key, value, ... */
    size_t count, capacity;
    df_dtype dtype;                   /* STORAGE */
    int64_t numel;                    /* STORAGE */
    struct dfi_pickle_value *storage; /* TENSOR */
    int64_t offset;                   /* TENSOR, in elements */
    int32_t ndim;
    int64_t shape[DF_TENSOR_MAX_DIMS], strides[DF_TENSOR_MAX_DIMS];
} dfi_pickle_value;

typedef struct dfi_pickle dfi_pickle;

/* Runs the pickle program; *root borrows from *out, which owns every value (dfi_pickle_free). */
df_status dfi_unpickle(const unsigned char *bytes, size_t size, dfi_pickle **out, const dfi_pickle_value **root);
void dfi_pickle_free(dfi_pickle *pickle);

#endif
