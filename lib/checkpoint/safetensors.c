/* safetensors: an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
 * shape and [begin, end) byte range in the data that follows, then the data. */
#include "json.h"
#include "state_dict.h"

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
    for (size_t i = 0; status == DF_OK && i < header->count; i++) {
        if (strcmp(header->keys[i], "__metadata__") == 0) continue;
        status = read_entry(header->keys[i], &header->items[i], data, data_size, dict);
    }
    dfi_json_free(header);
    return status;
}
