/* The zip container: end of central directory (zip64 aware), central directory, local headers. */
#include "zip.h"

#include <stdlib.h>
#include <string.h>

static uint64_t le(const unsigned char *p, int bytes) {
    uint64_t value = 0;
    for (int i = bytes - 1; i >= 0; i--) value = value << 8 | p[i];
    return value;
}

/* The end-of-central-directory record: the last 22 bytes, or earlier when a comment follows. */
static const unsigned char *find_end_record(const unsigned char *bytes, size_t size) {
    if (size < 22) return NULL;
    size_t lowest = size > 22 + 65535 ? size - 22 - 65535 : 0;
    for (size_t at = size - 22 + 1; at-- > lowest;)
        if (le(bytes + at, 4) == 0x06054b50 && at + 22 + le(bytes + at + 20, 2) <= size) return bytes + at;
    return NULL;
}

/* Fields the 32-bit records mark with 0xFFFFFFFF live in the zip64 extra field, in this order. */
static int read_zip64_extra(const unsigned char *extra, size_t length, uint64_t *uncompressed,
                            uint64_t *compressed, uint64_t *offset) {
    size_t at = 0;
    while (at + 4 <= length) {
        uint64_t id = le(extra + at, 2), field = le(extra + at + 2, 2);
        if (at + 4 + field > length) return -1;
        if (id == 1) {
            const unsigned char *p = extra + at + 4, *end = p + field;
            uint64_t *targets[3] = {uncompressed, compressed, offset};
            for (int i = 0; i < 3; i++) {
                if (*targets[i] != 0xFFFFFFFFu) continue;
                if (p + 8 > end) return -1;
                *targets[i] = le(p, 8);
                p += 8;
            }
            return 0;
        }
        at += 4 + field;
    }
    return 0;
}

void dfi_zip_entries_free(dfi_zip_entry *entries, size_t count) {
    if (entries == NULL) return;
    for (size_t i = 0; i < count; i++) free(entries[i].name);
    free(entries);
}

df_status dfi_zip_list(const unsigned char *bytes, size_t size, dfi_zip_entry **entries, size_t *count) {
    const unsigned char *end_record = find_end_record(bytes, size);
    if (end_record == NULL) return dfi_error(DF_E_FORMAT, "not a complete zip archive (no end of central directory: truncated?)");
    uint64_t total = le(end_record + 10, 2), directory_size = le(end_record + 12, 4), directory = le(end_record + 16, 4);
    size_t end_at = (size_t)(end_record - bytes);
    if ((total == 0xFFFF || directory == 0xFFFFFFFFu || directory_size == 0xFFFFFFFFu) && end_at >= 20 &&
        le(end_record - 20, 4) == 0x07064b50) {
        uint64_t record = le(end_record - 20 + 8, 8);
        if (record > size || size - record < 56 || le(bytes + record, 4) != 0x06064b50)
            return dfi_error(DF_E_FORMAT, "zip: bad zip64 end of central directory");
        total = le(bytes + record + 32, 8);
        directory_size = le(bytes + record + 40, 8);
        directory = le(bytes + record + 48, 8);
    }
    if (directory > size || directory_size > size - directory || total > directory_size / 46 + 1)
        return dfi_error(DF_E_FORMAT, "zip: the central directory lies outside the file");
    dfi_zip_entry *list = calloc(total ? total : 1, sizeof *list);
    if (list == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    const unsigned char *p = bytes + directory, *directory_end = p + directory_size;
    df_status status = DF_OK;
    size_t n = 0;
    for (; n < total && status == DF_OK; n++) {
        if (directory_end - p < 46 || le(p, 4) != 0x02014b50) {
            status = dfi_error(DF_E_FORMAT, "zip: bad central directory entry %zu", n);
            break;
        }
        uint64_t method = le(p + 10, 2), compressed = le(p + 20, 4), uncompressed = le(p + 24, 4);
        uint64_t name_length = le(p + 28, 2), extra_length = le(p + 30, 2), comment_length = le(p + 32, 2);
        uint64_t local = le(p + 42, 4);
        if ((uint64_t)(directory_end - p) < 46 + name_length + extra_length + comment_length ||
            read_zip64_extra(p + 46 + name_length, extra_length, &uncompressed, &compressed, &local) != 0) {
            status = dfi_error(DF_E_FORMAT, "zip: central directory entry %zu runs past its end", n);
            break;
        }
        list[n].name = malloc(name_length + 1);
        if (list[n].name == NULL) {
            status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
            break;
        }
        memcpy(list[n].name, p + 46, name_length);
        list[n].name[name_length] = '\0';
        if (local > size || size - local < 30 || le(bytes + local, 4) != 0x04034b50) {
            status = dfi_error(DF_E_FORMAT, "zip: entry '%s' has no local header", list[n].name);
            break;
        }
        uint64_t data = local + 30 + le(bytes + local + 26, 2) + le(bytes + local + 28, 2);
        if (data > size || compressed > size - data) {
            status = dfi_error(DF_E_FORMAT, "zip: entry '%s' runs past the end of the file (truncated?)", list[n].name);
            break;
        }
        list[n].size = uncompressed;
        list[n].data = method == 0 && compressed == uncompressed ? bytes + data : NULL;
        p += 46 + name_length + extra_length + comment_length;
    }
    if (status != DF_OK) {
        dfi_zip_entries_free(list, (size_t)total); /* calloc: unused names are NULL */
        return status;
    }
    *entries = list;
    *count = (size_t)total;
    return DF_OK;
}
