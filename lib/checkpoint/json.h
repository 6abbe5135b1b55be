/* A small JSON reader for safetensors headers: a tree of values, duplicate keys refused, depth
 * and size bounded, every read bounds-checked. */
#ifndef DINOFEAT_LIB_CHECKPOINT_JSON_H
#define DINOFEAT_LIB_CHECKPOINT_JSON_H

#include "../internal.h"

typedef enum { DFI_JSON_NULL, DFI_JSON_BOOL, DFI_JSON_NUMBER, DFI_JSON_STRING, DFI_JSON_ARRAY, DFI_JSON_OBJECT } dfi_json_kind;

typedef struct dfi_json {
    dfi_json_kind kind;
    double number;         /* NUMBER, BOOL (0/1) */
    int is_integer;        /* NUMBER written without fraction or exponent, fits int64 */
    int64_t integer;
    char *string;          /* STRING (NUL-terminated; embedded NULs refused) */
    size_t count;          /* ARRAY, OBJECT */
    char **keys;           /* OBJECT */
    struct dfi_json *items;
} dfi_json;

/* Parses text[0 .. size); *out is new (dfi_json_free). Errors are DF_E_FORMAT with a position. */
df_status dfi_json_parse(const char *text, size_t size, dfi_json **out);
void dfi_json_free(dfi_json *value);
/* The member named key of an object, or NULL. */
const dfi_json *dfi_json_member(const dfi_json *object, const char *key);
/* The number (any) or integer member named key into *out: 0, or -1 when missing or mistyped. */
int dfi_json_number(const dfi_json *object, const char *key, double *out);
int dfi_json_integer(const dfi_json *object, const char *key, int64_t *out);

#endif
