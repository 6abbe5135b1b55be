/* Image folders for the verbs: which names are images, and the folders an output path needs
 * (listing a dataset is the library's: df_dataset_open). */
#ifndef DINOFEAT_CLI_FOLDER_H
#define DINOFEAT_CLI_FOLDER_H

#include "dinofeat/image.h"

#include <stddef.h>

/* Whether name ends in .png, .jpg or .jpeg (any case). */
int cli_is_image_name(const char *name);
/* Creates path's parent folders (mkdir -p of everything before the last '/'); -1 with errno. */
int cli_make_parents(const char *path);

/* What a folder run does with one image: image decoded (and resized as dataset.size says), name
 * its path relative to the folder (what its outputs are named after). EXIT_OK, or an exit code
 * having said why on stderr. */
typedef int (*cli_image_fn)(void *context, const df_image *image, const char *name);
/* one for every image of folder, opened as a dataset with the --set settings (so dataset.layout
 * reads a dataset as distributed, dataset.size resizes as the papers' evaluations do), in the
 * dataset's order, with progress on stderr; an image that fails is counted and the rest go on.
 * Then "<done> N image(s) into out_dir" on stdout and the failures on stderr. EXIT_OK, or
 * EXIT_INPUT when an image failed. */
int cli_each_image(const char *verb, const char *folder, const char *out_dir, const char *done, cli_image_fn one,
                   void *context);
/* dir/name with name's extension replaced by extension (new), its folders made; NULL (errno set)
 * on failure. */
char *cli_output_name(const char *dir, const char *name, const char *extension);

#endif
