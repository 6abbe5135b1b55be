/* Image folders for the verbs: which names are images, and the folders an output path needs
 * (listing a dataset is the library's: df_dataset_open). */
#ifndef DINOFEAT_CLI_FOLDER_H
#define DINOFEAT_CLI_FOLDER_H

#include <stddef.h>

/* Whether name ends in .png, .jpg or .jpeg (any case). */
int cli_is_image_name(const char *name);
/* Creates path's parent folders (mkdir -p of everything before the last '/'); -1 with errno. */
int cli_make_parents(const char *path);
/* The relative image name with its extension replaced by ".png" (new). */
char *cli_png_name(const char *name);

#endif
