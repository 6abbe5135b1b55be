/* What the dinofeat verbs write: .npy arrays and visualisations of feature maps. */
#ifndef DINOFEAT_CLI_OUTPUT_H
#define DINOFEAT_CLI_OUTPUT_H

#include "dinofeat/core.h"
#include "dinofeat/image.h"
#include "dinofeat/tensor.h"

/* Writes values (row-major, shape[0..ndim)) as a float32 .npy file numpy.load reads. Returns 0,
 * or -1 with errno set. */
int cli_write_npy(const char *path, const float *values, size_t ndim, const int64_t *shape);

/* The first three principal components of n feature vectors of dimension d, min-max scaled per
 * component to 0..255, as an RGB image of width x height (n = width * height), enlarged by
 * nearest neighbour to out_width x out_height. */
df_status cli_pca_image(const float *features, size_t width, size_t height, size_t d, size_t out_width,
                        size_t out_height, df_image **out);

/* A map of width x height values, min-max scaled to 0..255 through a perceptual colour ramp,
 * enlarged by nearest neighbour to out_width x out_height. */
df_status cli_heat_image(const float *values, size_t width, size_t height, size_t out_width, size_t out_height,
                         df_image **out);

/* A float32 host copy of a tensor's elements (malloc'ed), or NULL. */
float *cli_host_copy(const df_tensor *tensor);

#endif
