/* Line plots a person reads: axes with ticks and numbers, axis labels, a legend and a title,
 * drawn with a 5 x 7 bitmap font into an RGB PNG (our PNG writer; no plotting package). */
#ifndef DINOFEAT_CLI_PLOT_H
#define DINOFEAT_CLI_PLOT_H

#include "dinofeat/core.h"

#include <stddef.h>

/* series curves of count points each (values series-major; non-finite points are gaps) over
 * x[0..count) (increasing), with their names in the legend, in cli_class_colour(s). */
typedef struct cli_plot {
    const char *title, *x_label, *y_label;
    const double *x, *values;
    size_t count, series;
    const char *const *names;
} cli_plot;
df_status cli_plot_png(const cli_plot *plot, const char *path);

/* A training's CSV log (a header row, then numbers) plotted: x the column named x_column, one
 * curve per column named in columns. 0, or -1 when the file cannot be read, lacks a column or
 * holds fewer than two rows, or the PNG cannot be written. */
int cli_plot_csv(const char *csv, const char *png, const char *title, const char *x_column,
                 const char *const *columns, size_t column_count);

/* Draws text (lower case, digits, ". - + _ : / ( ) , %"; other characters as boxes) into the
 * width x height RGB pixels with its top-left corner at x, y, each font pixel scale x scale. */
void cli_draw_text(unsigned char *rgb, size_t width, size_t height, long x, long y, const char *text, int scale,
                   const unsigned char colour[3]);
/* The width of text drawn at scale, in pixels. */
long cli_text_width(const char *text, int scale);

#endif
