/* Membrane projections of the classical features (specs/hrdv2.md section 4, item 4). */
#ifndef DINOFEAT_WEAK_MEMBRANE_H
#define DINOFEAT_WEAK_MEMBRANE_H

#include <stddef.h>

#define DFI_MEMBRANE_SIZE 19     /* the official "Membrane Patch Size" */
#define DFI_MEMBRANE_THICKNESS 1 /* the official "Membrane Thickness" */
#define DFI_MEMBRANE_ANGLES 30   /* 0, 6, ..., 174 degrees */

/* Index i of a line of n samples under scipy's 'reflect' border (d c b a | a b c d), for any i. */
size_t dfi_reflect_index(long i, size_t n);

/* The kernel of size x size zeros with the thickness centre columns ones, rotated by degrees as
 * scipy.ndimage.rotate(kernel, degrees) does (cubic spline with mirror-extended coefficients,
 * zero outside the input, the output grown to hold the rotated square), rounded to 0 / 1 as
 * np.rint does. *rows x *cols (each at most 2 x size) into taps (row-major 0 / 1). */
int dfi_membrane_kernel(int size, int thickness, double degrees, unsigned char *taps, int *rows, int *cols);

/* The 30 kernels convolved with the float32 image unit (w x h, border reflect), and per pixel
 * the mean, max, min, sum, population standard deviation and median of the 30 responses, in
 * float32 as numpy computes them, into channels c .. c + 5 of out (channels per pixel). */
int dfi_membrane_projections(const float *unit, size_t w, size_t h, int size, int thickness, float *out,
                             size_t channels, size_t c);

#endif
