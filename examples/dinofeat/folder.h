/* Image folders for the dataset verbs: every PNG/JPEG under a folder, sorted, and the folders
 * an output path needs. */
#ifndef DINOFEAT_CLI_FOLDER_H
#define DINOFEAT_CLI_FOLDER_H

#include <stddef.h>

/* Whether name ends in .png, .jpg or .jpeg (any case). */
int cli_is_image_name(const char *name);
/* *names (new; free with cli_free_names) gets the paths relative to root of every image under
 * it, subfolders included, hidden entries skipped, sorted bytewise so every run sees one order.
 * -1 with errno set when a folder cannot be read. */
int cli_list_images(const char *root, char ***names, size_t *count);
void cli_free_names(char **names, size_t count);
/* Creates path's parent folders (mkdir -p of everything before the last '/'); -1 with errno. */
int cli_make_parents(const char *path);
/* The relative image name with its extension replaced by ".png" (new). */
char *cli_png_name(const char *name);

#endif
