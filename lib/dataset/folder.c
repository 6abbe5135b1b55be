/* Image folders: every PNG/JPEG under a root, as sorted relative paths. */
#include "dataset_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

typedef struct listing {
    char **names;
    size_t count, capacity;
} listing;

static int is_image(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0);
}

static char *joined(const char *a, const char *b) {
    const size_t n = strlen(a) + strlen(b) + 2;
    char *out = malloc(n);
    if (out) snprintf(out, n, "%s%s%s", a, *a && *b ? "/" : "", b);
    return out;
}

static df_status keep(listing *l, char *name) {
    if (l->count == l->capacity) {
        const size_t capacity = l->capacity ? 2 * l->capacity : 64;
        char **grown = realloc(l->names, capacity * sizeof *grown);
        if (grown == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory listing images");
        l->names = grown, l->capacity = capacity;
    }
    l->names[l->count++] = name;
    return DF_OK;
}

/* Adds the images under root/relative. */
static df_status walk(const char *root, const char *relative, listing *l) {
    char *here = joined(root, relative);
    DIR *d = here ? opendir(here) : NULL;
    if (d == NULL) {
        df_status status = here ? dfi_error(DF_E_IO, "%s: cannot read the folder: %s", here, strerror(errno))
                                : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
        free(here);
        return status;
    }
    df_status status = DF_OK;
    for (struct dirent *e; status == DF_OK && (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.') continue;
        char *full = joined(here, e->d_name), *name = joined(relative, e->d_name);
        struct stat st;
        if (full == NULL || name == NULL) status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
        else if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) status = walk(root, name, l);
        else if (is_image(e->d_name) && (status = keep(l, name)) == DF_OK) name = NULL;
        free(full);
        free(name);
    }
    closedir(d);
    free(here);
    return status;
}

static int by_bytes(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

df_status dfi_list_images(const char *root, char ***names, size_t *count) {
    listing l = {0};
    df_status status = walk(root, "", &l);
    if (status != DF_OK) {
        dfi_free_names(l.names, l.count);
        return status;
    }
    if (l.count > 1) qsort(l.names, l.count, sizeof *l.names, by_bytes);
    *names = l.names, *count = l.count;
    return DF_OK;
}

void dfi_free_names(char **names, size_t count) {
    for (size_t i = 0; names && i < count; i++) free(names[i]);
    free(names);
}
