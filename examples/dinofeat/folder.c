/* Image names and output folders for the verbs. */
#include "folder.h"
#include "cli.h"

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

int cli_each_image(const char *verb, const char *folder, const char *out_dir, const char *done, cli_image_fn one,
                   void *context) {
    df_options *options = NULL;
    df_dataset *listing = NULL;
    size_t count = 0, failures = 0;
    df_status status = cli_options_new(&options);
    if (status == DF_OK) status = df_dataset_open(folder, NULL, options, &listing);
    if (status == DF_OK) status = df_dataset_count(listing, &count);
    df_options_free(options);
    if (status != DF_OK) {
        df_dataset_free(listing);
        return cli_fail(verb, status);
    }
    cli_progress progress;
    cli_progress_init(&progress, verb);
    for (size_t i = 0; i < count; i++) {
        const char *name = NULL;
        df_image *image = NULL;
        df_dataset_name(listing, i, &name, NULL);
        status = df_dataset_get(listing, i, &image, NULL);
        if (status != DF_OK) fprintf(stderr, "dinofeat %s: %s\n", verb, df_last_error_message());
        if (status != DF_OK || one(context, image, name) != EXIT_OK) failures++;
        df_image_free(image);
        cli_progress_report(&progress, i + 1, count, "images");
    }
    df_dataset_free(listing);
    printf("%s %zu image(s) into %s\n", done, count - failures, out_dir);
    if (failures) fprintf(stderr, "dinofeat %s: %zu image(s) failed (listed above)\n", verb, failures);
    return failures ? EXIT_INPUT : EXIT_OK;
}

char *cli_output_name(const char *dir, const char *name, const char *extension) {
    const char *dot = strrchr(name, '.'), *slash = strrchr(name, '/');
    const size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - name) : strlen(name),
                 size = strlen(dir) + stem + strlen(extension) + 2;
    char *path = malloc(size);
    if (path) snprintf(path, size, "%s/%.*s%s", dir, (int)stem, name, extension);
    if (path && cli_make_parents(path) != 0) free(path), path = NULL;
    return path;
}
