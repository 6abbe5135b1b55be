/* Image folders for the dataset verbs: recursive, sorted listings and output folders. */
#include "folder.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

int cli_is_image_name(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0);
}

typedef struct listing {
    char **names;
    size_t count, capacity;
} listing;

static int append(listing *l, char *name) {
    if (name == NULL) return -1;
    if (l->count == l->capacity) {
        size_t capacity = l->capacity ? 2 * l->capacity : 64;
        char **grown = realloc(l->names, capacity * sizeof *grown);
        if (grown == NULL) {
            free(name);
            return -1;
        }
        l->names = grown, l->capacity = capacity;
    }
    l->names[l->count++] = name;
    return 0;
}

static char *join(const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 2;
    char *out = malloc(n);
    if (out) snprintf(out, n, "%s%s%s", a, *a ? "/" : "", b);
    return out;
}

/* Adds the images under root/relative ("" for root itself). */
static int walk(const char *root, const char *relative, listing *l) {
    char *here = *relative ? join(root, relative) : strdup(root);
    DIR *d = here ? opendir(here) : NULL;
    if (d == NULL) {
        free(here);
        return -1;
    }
    int failed = 0;
    for (struct dirent *e; !failed && (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.') continue;
        char *full = join(here, e->d_name), *name = join(relative, e->d_name);
        struct stat st;
        if (full == NULL || name == NULL) failed = 1;
        else if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) failed = walk(root, name, l) != 0;
        else if (cli_is_image_name(e->d_name)) failed = append(l, name) != 0, name = NULL;
        free(full);
        free(name);
    }
    closedir(d);
    free(here);
    return failed ? -1 : 0;
}

static int by_bytes(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int cli_list_images(const char *root, char ***names, size_t *count) {
    listing l = {0};
    if (walk(root, "", &l) != 0) {
        int saved = errno;
        cli_free_names(l.names, l.count);
        errno = saved;
        return -1;
    }
    if (l.count > 1) qsort(l.names, l.count, sizeof *l.names, by_bytes);
    *names = l.names, *count = l.count;
    return 0;
}

void cli_free_names(char **names, size_t count) {
    for (size_t i = 0; names && i < count; i++) free(names[i]);
    free(names);
}

int cli_make_parents(const char *path) {
    char *copy = strdup(path);
    if (copy == NULL) return -1;
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(copy, 0777) != 0 && errno != EEXIST) {
            free(copy);
            return -1;
        }
        *p = '/';
    }
    free(copy);
    return 0;
}

char *cli_png_name(const char *name) {
    const char *dot = strrchr(name, '.'), *slash = strrchr(name, '/');
    size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - name) : strlen(name);
    char *out = malloc(stem + 5);
    if (out) memcpy(out, name, stem), memcpy(out + stem, ".png", 5);
    return out;
}
