/* The flat state dict: recognising the container, mapping files, looking names up. */
#include "state_dict.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int64_t dfi_entry_numel(const dfi_tensor_entry *entry) {
    int64_t count = 1;
    for (int32_t i = 0; i < entry->ndim; i++) count *= entry->shape[i];
    return count;
}

const dfi_tensor_entry *dfi_state_dict_find(const dfi_state_dict *dict, const char *name) {
    for (size_t i = 0; i < dict->count; i++)
        if (strcmp(dict->entries[i].name, name) == 0) return &dict->entries[i];
    return NULL;
}

df_status dfi_state_dict_add(dfi_state_dict *dict, const char *name, const dfi_tensor_entry *entry) {
    if (dfi_state_dict_find(dict, name) != NULL)
        return dfi_error(DF_E_FORMAT, "the key '%s' appears twice", name);
    if (dict->count == dict->capacity) {
        size_t capacity = dict->capacity ? 2 * dict->capacity : 64;
        dfi_tensor_entry *grown = realloc(dict->entries, capacity * sizeof *grown);
        if (grown == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
        dict->entries = grown;
        dict->capacity = capacity;
    }
    dfi_tensor_entry *slot = &dict->entries[dict->count];
    *slot = *entry;
    slot->name = strdup(name);
    if (slot->name == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    dict->count++;
    return DF_OK;
}

void dfi_state_dict_free(dfi_state_dict *dict) {
    if (dict == NULL) return;
    for (size_t i = 0; i < dict->count; i++) free(dict->entries[i].name);
    free(dict->entries);
    if (dict->mapped && dict->size > 0) munmap((void *)dict->bytes, dict->size);
    free(dict);
}

static df_status parse(dfi_state_dict *dict) {
    const unsigned char *b = dict->bytes;
    size_t n = dict->size;
    if (n >= 4 && b[0] == 'P' && b[1] == 'K' && b[2] == 3 && b[3] == 4) {
        dict->container = "pth";
        return dfi_pth_parse(b, n, dict);
    }
    /* torch.save before 1.6 wrote a bare pickle stream: protocol 2 starts 0x80 0x02. */
    if (n >= 2 && b[0] == 0x80 && b[1] <= 5)
        return dfi_error(DF_E_UNSUPPORTED,
                         "a PyTorch checkpoint in the legacy (pre-1.6) format: re-save it with a "
                         "current torch.save to convert it");
    if (n >= 9 && b[8] == '{') {
        dict->container = "safetensors";
        return dfi_safetensors_parse(b, n, dict);
    }
    return dfi_error(DF_E_FORMAT, "neither a PyTorch .pth (zip) nor a safetensors file");
}

df_status dfi_state_dict_read_memory(const unsigned char *bytes, size_t size, dfi_state_dict **out) {
    dfi_state_dict *dict = calloc(1, sizeof *dict);
    if (dict == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    dict->bytes = bytes;
    dict->size = size;
    df_status status = parse(dict);
    if (status != DF_OK) {
        dfi_state_dict_free(dict);
        return status;
    }
    *out = dict;
    return DF_OK;
}

df_status dfi_state_dict_read_file(const char *path, dfi_state_dict **out) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return dfi_error(DF_E_IO, "cannot open: %s", strerror(errno));
    struct stat info;
    if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
        close(fd);
        return dfi_error(DF_E_IO, "not a regular file");
    }
    size_t size = (size_t)info.st_size;
    void *bytes = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    close(fd);
    if (size && bytes == MAP_FAILED) return dfi_error(DF_E_IO, "cannot map: %s", strerror(errno));
    dfi_state_dict *dict = calloc(1, sizeof *dict);
    if (dict == NULL) {
        if (size) munmap(bytes, size);
        return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    }
    dict->bytes = bytes;
    dict->size = size;
    dict->mapped = 1;
    df_status status = parse(dict);
    if (status != DF_OK) {
        dfi_state_dict_free(dict);
        return status;
    }
    *out = dict;
    return DF_OK;
}
