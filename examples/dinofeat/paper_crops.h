/* Random resized crops as torchvision draws them (RandomResizedCrop.get_params) and applies them
 * to PIL images, from our own seeded generator, for the protocols that train or fill a memory on
 * augmented images (NeCo's linear probe, Hummingbird's in-context memory). */
#ifndef DINOFEAT_CLI_PAPER_CROPS_H
#define DINOFEAT_CLI_PAPER_CROPS_H

#include "dinofeat/dataset.h"
#include "dinofeat/image.h"
#include "dinofeat/model.h"

#include <stddef.h>
#include <stdint.h>

uint64_t crops_splitmix64(uint64_t *state);
/* A uniform double in [lo, hi) from 53 bits. */
double crops_uniform(uint64_t *state, double lo, double hi);
/* A generator for one purpose (a protocol's constant) of one (epoch, item): independent of what
 * ran before, so a resumed or repeated run draws the same crops. */
uint64_t crops_generator(uint64_t seed, uint64_t purpose, uint64_t epoch, uint64_t item);
/* A permutation of 0..n-1 (Fisher-Yates). */
void crops_shuffle(size_t *order, size_t n, uint64_t state);
/* torchvision's RandomResizedCrop.get_params with ratio 3/4..4/3: ten tries at a random area
 * (scale_lo..scale_hi of the image's) and log-uniform aspect, else the whole image at the
 * nearest allowed aspect, centred. box: x, y, width, height. */
void crops_box(uint64_t *rng, size_t width, size_t height, double scale_lo, double scale_hi, size_t box[4]);
/* out: new, box of image resized to side x side with filter (PIL's), flipped left-right when
 * asked. */
df_status crops_resized(df_image *image, const size_t box[4], size_t side, df_resize_filter filter, int flip,
                        df_image **out);
/* The patch tokens of count crops (count x 3 x side x side pixels, normalised) into tokens, which
 * hold count x grid x grid x dim floats; a token grid of another size (a model.stride below the
 * patch) is said here (*said set). */
df_status crops_forward_tokens(df_model *model, float *pixels, size_t count, size_t side, float *tokens, size_t grid,
                               size_t dim, int *said);
/* A training split of the dataset at root (its layout and the rest from --set), limited to the
 * images list names (may be NULL), as distributed: the crops resize it. */
df_status crops_open_split(const char *root, const char *split, const char *list, df_dataset **out);

#endif
