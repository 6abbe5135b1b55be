/* safetensors: an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
 * shape and [begin, end) byte range in the data that follows, then the data. */
#include "json.h"
#include "state_dict.h"

#include <stdlib.h>
#include <string.h>

/* Safetensors headers of real models are well under a megabyte; this bounds a lying length. */
#define MAX_HEADER_BYTES (100u << 20)

static int dtype_from_name(const char *name, df_dtype *dtype) {
    static const struct { const char *name; df_dtype dtype; } table[] = {
        {"F32", DF_DTYPE_FLOAT32}, {"F16", DF_DTYPE_FLOAT16}, {"BF16", DF_DTYPE_BFLOAT16},
        {"F64", DF_DTYPE_FLOAT64}, {"I64", DF_DTYPE_INT64},   {"I32", DF_DTYPE_INT32},
        {"U8", DF_DTYPE_UINT8},    {"BOOL", DF_DTYPE_UINT8}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].name, name) == 0) {
            *dtype = table[i].dtype;
            return 1;
        }
    return 0;
}

static df_status read_entry(const char *name, const dfi_json *spec, const unsigned char *data,
                            uint64_t data_size, dfi_state_dict *dict) {
    const dfi_json *dtype = dfi_json_member(spec, "dtype"), *shape = dfi_json_member(spec, "shape");
    const dfi_json *offsets = dfi_json_member(spec, "data_offsets");
    if (spec->kind != DFI_JSON_OBJECT || !dtype || dtype->kind != DFI_JSON_STRING || !shape ||
        shape->kind != DFI_JSON_ARRAY || !offsets || offsets->kind != DFI_JSON_ARRAY || offsets->count != 2)
        return dfi_error(DF_E_FORMAT, "tensor '%s': the header entry lacks dtype, shape or data_offsets", name);
    dfi_tensor_entry entry = {0};
    if (!dtype_from_name(dtype->string, &entry.dtype))
        return dfi_error(DF_E_FORMAT, "tensor '%s': unsupported dtype '%s'", name, dtype->string);
    if (shape->count > DF_TENSOR_MAX_DIMS)
        return dfi_error(DF_E_FORMAT, "tensor '%s': %zu dimensions", name, shape->count);
    entry.ndim = (int32_t)shape->count;
    uint64_t numel = 1;
    for (size_t i = 0; i < shape->count; i++) {
        const dfi_json *d = &shape->items[i];
        if (d->kind != DFI_JSON_NUMBER || !d->is_integer || d->integer < 0 || d->integer > (int64_t)1 << 40)
            return dfi_error(DF_E_FORMAT, "tensor '%s': bad shape", name);
        entry.shape[i] = d->integer;
        numel *= (uint64_t)d->integer;
        if (numel > (uint64_t)1 << 40) return dfi_error(DF_E_FORMAT, "tensor '%s': shape too large", name);
    }
    for (int32_t i = entry.ndim, stride = 1; i-- > 0;) {
        entry.strides[i] = stride;
        stride *= (int32_t)(entry.shape[i] ? entry.shape[i] : 1);
    }
    const dfi_json *begin = &offsets->items[0], *end = &offsets->items[1];
    if (begin->kind != DFI_JSON_NUMBER || end->kind != DFI_JSON_NUMBER || !begin->is_integer ||
        !end->is_integer || begin->integer < 0 || end->integer < begin->integer ||
        (uint64_t)end->integer > data_size)
        return dfi_error(DF_E_FORMAT, "tensor '%s': data_offsets [%.0f, %.0f] lie outside the %llu data bytes",
                         name, begin->number, end->number, (unsigned long long)data_size);
    uint64_t bytes = (uint64_t)(end->integer - begin->integer);
    if (bytes != numel * df_dtype_size(entry.dtype))
        return dfi_error(DF_E_FORMAT, "tensor '%s': %llu bytes for %llu elements of %s", name,
                         (unsigned long long)bytes, (unsigned long long)numel, dtype->string);
    entry.data = data + begin->integer;
    return dfi_state_dict_add(dict, name, &entry);
}

typedef struct byte_range {
    uint64_t begin, end;
    const char *name;
} byte_range;

static int by_begin(const void *a, const void *b) {
    const byte_range *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* The format requires the tensors' byte ranges to be disjoint and to tile the data section: a
 * file where two tensors share bytes (or bytes belong to none) was not written by a safetensors
 * writer, and a model read from it would alias weights. */
static df_status check_ranges_tile(const dfi_state_dict *dict, size_t first, const unsigned char *data,
                                   uint64_t data_size) {
    const size_t count = dict->count - first;
    byte_range *ranges = malloc((count ? count : 1) * sizeof *ranges);
    if (ranges == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; i < count; i++) {
        const dfi_tensor_entry *e = &dict->entries[first + i];
        ranges[i].begin = (uint64_t)(e->data - data);
        ranges[i].end = ranges[i].begin + (uint64_t)dfi_entry_numel(e) * df_dtype_size(e->dtype);
        ranges[i].name = e->name;
    }
    qsort(ranges, count, sizeof *ranges, by_begin);
    df_status status = DF_OK;
    uint64_t covered = 0;
    for (size_t i = 0; status == DF_OK && i < count; i++) {
        if (ranges[i].begin < covered)
            status = dfi_error(DF_E_FORMAT, "safetensors: tensors '%s' and '%s' overlap (bytes [%llu, %llu) and [%llu, %llu))",
                               ranges[i - 1].name, ranges[i].name, (unsigned long long)ranges[i - 1].begin,
                               (unsigned long long)ranges[i - 1].end, (unsigned long long)ranges[i].begin,
                               (unsigned long long)ranges[i].end);
        else if (ranges[i].begin > covered)
            status = dfi_error(DF_E_FORMAT, "safetensors: data bytes [%llu, %llu) belong to no tensor",
                               (unsigned long long)covered, (unsigned long long)ranges[i].begin);
        covered = ranges[i].end;
    }
    if (status == DF_OK && covered != data_size)
        status = dfi_error(DF_E_FORMAT, "safetensors: data bytes [%llu, %llu) belong to no tensor",
                           (unsigned long long)covered, (unsigned long long)data_size);
    free(ranges);
    return status;
}

/* "dinofeat.heads": a positive integer written as a string (metadata values are strings). */
static df_status read_metadata(const dfi_json *metadata, dfi_state_dict *dict) {
    if (metadata->kind != DFI_JSON_OBJECT) return dfi_error(DF_E_FORMAT, "safetensors: __metadata__ is not an object");
    const dfi_json *heads = dfi_json_member(metadata, "dinofeat.heads");
    if (heads == NULL) return DF_OK;
    char *end = NULL;
    long long value = heads->kind == DFI_JSON_STRING ? strtoll(heads->string, &end, 10) : 0;
    if (heads->kind != DFI_JSON_STRING || end == heads->string || *end != '\0' || value < 1 || value > 4096)
        return dfi_error(DF_E_FORMAT, "safetensors: __metadata__ \"dinofeat.heads\" is not a number of heads");
    dict->recorded_heads = value;
    return DF_OK;
}

df_status dfi_safetensors_parse(const unsigned char *bytes, size_t size, dfi_state_dict *dict) {
    if (size < 8) return dfi_error(DF_E_FORMAT, "safetensors: shorter than its header length");
    uint64_t header_size = 0;
    for (int i = 7; i >= 0; i--) header_size = header_size << 8 | bytes[i];
    if (header_size > MAX_HEADER_BYTES || header_size > size - 8)
        return dfi_error(DF_E_FORMAT, "safetensors: the header length (%llu bytes) runs past the end of the file (%zu bytes)",
                         (unsigned long long)header_size, size);
    dfi_json *header;
    df_status status = dfi_json_parse((const char *)bytes + 8, (size_t)header_size, &header);
    if (status != DF_OK) return status;
    if (header->kind != DFI_JSON_OBJECT) {
        dfi_json_free(header);
        return dfi_error(DF_E_FORMAT, "safetensors: the header is not a JSON object");
    }
    const unsigned char *data = bytes + 8 + header_size;
    uint64_t data_size = size - 8 - header_size;
    const size_t first = dict->count;
    for (size_t i = 0; status == DF_OK && i < header->count; i++) {
        if (strcmp(header->keys[i], "__metadata__") == 0) status = read_metadata(&header->items[i], dict);
        else status = read_entry(header->keys[i], &header->items[i], data, data_size, dict);
    }
    if (status == DF_OK) status = check_ranges_tile(dict, first, data, data_size);
    dfi_json_free(header);
    return status;
}
