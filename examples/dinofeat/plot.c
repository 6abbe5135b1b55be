/* Line plots with axes, ticks, labels and a legend (plot.h). */
#include "plot.h"
#include "draw.h"
#include "dinofeat/image.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a 5 x 7 font: seven rows of five bits, the leftmost pixel in bit 4 ---------------------- */

typedef struct glyph {
    char c;
    unsigned char rows[7];
} glyph;

static const glyph font[] = {
    {'0', {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}}, {'1', {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}},
    {'2', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}}, {'3', {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}},
    {'4', {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}}, {'5', {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}},
    {'6', {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}}, {'7', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
    {'8', {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}}, {'9', {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}},
    {'a', {0x00, 0x00, 0x0E, 0x01, 0x0F, 0x11, 0x0F}}, {'b', {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1E}},
    {'c', {0x00, 0x00, 0x0E, 0x10, 0x10, 0x11, 0x0E}}, {'d', {0x01, 0x01, 0x0D, 0x13, 0x11, 0x11, 0x0F}},
    {'e', {0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E}}, {'f', {0x06, 0x09, 0x08, 0x1C, 0x08, 0x08, 0x08}},
    {'g', {0x00, 0x0F, 0x11, 0x11, 0x0F, 0x01, 0x0E}}, {'h', {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11}},
    {'i', {0x04, 0x00, 0x0C, 0x04, 0x04, 0x04, 0x0E}}, {'j', {0x02, 0x00, 0x06, 0x02, 0x02, 0x12, 0x0C}},
    {'k', {0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12}}, {'l', {0x0C, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}},
    {'m', {0x00, 0x00, 0x1A, 0x15, 0x15, 0x11, 0x11}}, {'n', {0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11}},
    {'o', {0x00, 0x00, 0x0E, 0x11, 0x11, 0x11, 0x0E}}, {'p', {0x00, 0x00, 0x1E, 0x11, 0x1E, 0x10, 0x10}},
    {'q', {0x00, 0x00, 0x0D, 0x13, 0x0F, 0x01, 0x01}}, {'r', {0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10}},
    {'s', {0x00, 0x00, 0x0E, 0x10, 0x0E, 0x01, 0x1E}}, {'t', {0x08, 0x08, 0x1C, 0x08, 0x08, 0x09, 0x06}},
    {'u', {0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0D}}, {'v', {0x00, 0x00, 0x11, 0x11, 0x11, 0x0A, 0x04}},
    {'w', {0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0A}}, {'x', {0x00, 0x00, 0x11, 0x0A, 0x04, 0x0A, 0x11}},
    {'y', {0x00, 0x00, 0x11, 0x11, 0x0F, 0x01, 0x0E}}, {'z', {0x00, 0x00, 0x1F, 0x02, 0x04, 0x08, 0x1F}},
    {'.', {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C}}, {'-', {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00}},
    {'+', {0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00}}, {'_', {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F}},
    {':', {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00}}, {'/', {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00}},
    {'(', {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}}, {')', {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}},
    {',', {0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08}}, {'%', {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03}},
    {' ', {0, 0, 0, 0, 0, 0, 0}},
};
static const unsigned char unknown_glyph[7] = {0x1F, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1F};

enum { GLYPH_W = 5, GLYPH_H = 7, ADVANCE = 6 };

static const unsigned char *glyph_rows(char c) {
    const char lower = (char)tolower((unsigned char)c);
    for (size_t i = 0; i < sizeof font / sizeof font[0]; i++)
        if (font[i].c == lower) return font[i].rows;
    return unknown_glyph;
}

long cli_text_width(const char *text, int scale) {
    const long n = (long)strlen(text);
    return n ? (n * ADVANCE - 1) * scale : 0;
}

static void put_pixel(unsigned char *rgb, size_t width, size_t height, long x, long y, const unsigned char colour[3]) {
    if (x < 0 || y < 0 || (size_t)x >= width || (size_t)y >= height) return;
    memcpy(rgb + ((size_t)y * width + (size_t)x) * 3, colour, 3);
}

void cli_draw_text(unsigned char *rgb, size_t width, size_t height, long x, long y, const char *text, int scale,
                   const unsigned char colour[3]) {
    for (const char *c = text; *c; c++, x += ADVANCE * scale) {
        const unsigned char *rows = glyph_rows(*c);
        for (int r = 0; r < GLYPH_H; r++)
            for (int b = 0; b < GLYPH_W; b++)
                if (rows[r] & (0x10 >> b))
                    for (int dy = 0; dy < scale; dy++)
                        for (int dx = 0; dx < scale; dx++)
                            put_pixel(rgb, width, height, x + b * scale + dx, y + r * scale + dy, colour);
    }
}

/* ---- axes ------------------------------------------------------------------------------------ */

enum { PLOT_W = 800, PLOT_H = 450, LEFT = 78, RIGHT = 24, TOP = 40, BOTTOM = 52 };

/* A straight line, thickness pixels wide. */
static void draw_line(unsigned char *rgb, double x0, double y0, double x1, double y1, int thickness,
                      const unsigned char colour[3]) {
    const double steps = fmax(fabs(x1 - x0), fabs(y1 - y0)) + 1;
    for (double t = 0; t <= steps; t++) {
        const long x = lround(x0 + (x1 - x0) * t / steps), y = lround(y0 + (y1 - y0) * t / steps);
        for (int dy = 0; dy < thickness; dy++)
            for (int dx = 0; dx < thickness; dx++) put_pixel(rgb, PLOT_W, PLOT_H, x + dx, y + dy, colour);
    }
}

/* Ticks at 1, 2 or 5 times a power of ten, about `wanted` of them over [lo, hi]. */
static double tick_step(double lo, double hi, int wanted) {
    const double raw = (hi - lo) / wanted, power = pow(10, floor(log10(raw))), scaled = raw / power;
    return (scaled < 1.5 ? 1 : scaled < 3.5 ? 2 : scaled < 7.5 ? 5 : 10) * power;
}

static void tick_text(double value, double step, char *text, size_t size) {
    if (fabs(value) < step * 1e-9) value = 0;
    const double magnitude = fmax(fabs(value), step);
    if (magnitude >= 1e6 || magnitude < 1e-3) snprintf(text, size, "%.2g", value);
    else {
        const int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
        snprintf(text, size, "%.*f", decimals, value);
    }
}

df_status cli_plot_png(const cli_plot *plot, const char *path) {
    if (plot->count < 2 || plot->series == 0) return DF_E_INVALID_ARG;
    df_image *canvas = NULL;
    df_status status = df_image_new(PLOT_W, PLOT_H, 3, 8, &canvas);
    if (status != DF_OK) return status;
    unsigned char *p = df_image_pixels(canvas);
    memset(p, 255, (size_t)PLOT_W * PLOT_H * 3);
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < plot->count * plot->series; i++)
        if (isfinite(plot->values[i])) lo = fmin(lo, plot->values[i]), hi = fmax(hi, plot->values[i]);
    if (!(hi >= lo)) lo = 0, hi = 1;
    if (!(hi > lo)) hi = lo + 1, lo -= 1;
    const double x_lo = plot->x[0], x_hi = plot->x[plot->count - 1] > x_lo ? plot->x[plot->count - 1] : x_lo + 1;
    const double y_step = tick_step(lo, hi, 6), x_step = tick_step(x_lo, x_hi, 8);
    lo = floor(lo / y_step) * y_step, hi = ceil(hi / y_step) * y_step;
    const double left = LEFT, right = PLOT_W - RIGHT, top = TOP, bottom = PLOT_H - BOTTOM;
#define PX(x) (left + (right - left) * ((x) - x_lo) / (x_hi - x_lo))
#define PY(y) (bottom - (bottom - top) * ((y) - lo) / (hi - lo))
    const unsigned char black[3] = {0, 0, 0}, grid[3] = {225, 225, 225};
    char text[64];
    for (double y = lo; y <= hi + y_step * 1e-9; y += y_step) {
        draw_line(p, left, PY(y), right, PY(y), 1, grid);
        draw_line(p, left - 5, PY(y), left, PY(y), 1, black);
        tick_text(y, y_step, text, sizeof text);
        cli_draw_text(p, PLOT_W, PLOT_H, (long)left - 8 - cli_text_width(text, 1), lround(PY(y)) - 3, text, 1, black);
    }
    for (double x = ceil(x_lo / x_step) * x_step; x <= x_hi + x_step * 1e-9; x += x_step) {
        draw_line(p, PX(x), top, PX(x), bottom, 1, grid);
        draw_line(p, PX(x), bottom, PX(x), bottom + 5, 1, black);
        tick_text(x, x_step, text, sizeof text);
        cli_draw_text(p, PLOT_W, PLOT_H, lround(PX(x)) - cli_text_width(text, 1) / 2, (long)bottom + 9, text, 1, black);
    }
    draw_line(p, left, top, left, bottom, 1, black), draw_line(p, left, bottom, right, bottom, 1, black);
    for (size_t s = 0; s < plot->series; s++) {
        unsigned char colour[3];
        cli_class_colour((int32_t)s, colour);
        const double *v = plot->values + s * plot->count;
        for (size_t i = 1; i < plot->count; i++)
            if (isfinite(v[i - 1]) && isfinite(v[i]))
                draw_line(p, PX(plot->x[i - 1]), PY(v[i - 1]), PX(plot->x[i]), PY(v[i]), 2, colour);
    }
#undef PX
#undef PY
    if (plot->title)
        cli_draw_text(p, PLOT_W, PLOT_H, (PLOT_W - cli_text_width(plot->title, 2)) / 2, 10, plot->title, 2, black);
    if (plot->x_label)
        cli_draw_text(p, PLOT_W, PLOT_H, (long)(left + right - cli_text_width(plot->x_label, 2)) / 2, PLOT_H - 20,
                      plot->x_label, 2, black);
    if (plot->y_label) /* above the axis, as there is no rotated text */
        cli_draw_text(p, PLOT_W, PLOT_H, 8, 14, plot->y_label, 2, black);
    /* the legend: a framed box in the top right corner, a line of each colour and its name */
    long legend_w = 0;
    for (size_t s = 0; s < plot->series; s++) {
        const long w = cli_text_width(plot->names[s], 1);
        if (w > legend_w) legend_w = w;
    }
    legend_w += 40;
    const long lx = (long)right - legend_w - 8, ly = (long)top + 8, lh = 14 * (long)plot->series + 8;
    for (long y = ly; y < ly + lh; y++)
        for (long x = lx; x < lx + legend_w; x++) put_pixel(p, PLOT_W, PLOT_H, x, y, (const unsigned char[3]){255, 255, 255});
    draw_line(p, lx, ly, lx + legend_w, ly, 1, black), draw_line(p, lx, ly + lh, lx + legend_w, ly + lh, 1, black);
    draw_line(p, lx, ly, lx, ly + lh, 1, black), draw_line(p, lx + legend_w, ly, lx + legend_w, ly + lh, 1, black);
    for (size_t s = 0; s < plot->series; s++) {
        unsigned char colour[3];
        cli_class_colour((int32_t)s, colour);
        const long y = ly + 8 + 14 * (long)s;
        draw_line(p, lx + 6, y + 3, lx + 26, y + 3, 2, colour);
        cli_draw_text(p, PLOT_W, PLOT_H, lx + 32, y, plot->names[s], 1, black);
    }
    status = df_image_save_png(canvas, path);
    df_image_free(canvas);
    return status;
}

/* ---- CSV logs -------------------------------------------------------------------------------- */

/* The index of name among the header's comma-separated names, or -1. */
static int column_index(const char *header, const char *name) {
    int index = 0;
    for (const char *p = header; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL, index++) {
        size_t length = strcspn(p, ",\r\n");
        if (length == strlen(name) && strncmp(p, name, length) == 0) return index;
    }
    return -1;
}

int cli_plot_csv(const char *csv, const char *png, const char *title, const char *x_column,
                 const char *const *columns, size_t column_count) {
    FILE *f = fopen(csv, "r");
    if (f == NULL) return -1;
    char line[4096];
    int wanted[17], x_index = -1, failed = fgets(line, sizeof line, f) == NULL || column_count > 16;
    if (!failed) x_index = column_index(line, x_column);
    for (size_t c = 0; !failed && c < column_count; c++) failed = (wanted[c] = column_index(line, columns[c])) < 0;
    failed |= x_index < 0;
    size_t count = 0, capacity = 0;
    double *rows = NULL; /* count rows of 1 + column_count values */
    while (!failed && fgets(line, sizeof line, f)) {
        if (count == capacity) {
            capacity = capacity ? capacity * 2 : 1024;
            double *grown = realloc(rows, capacity * (column_count + 1) * sizeof *rows);
            if (grown == NULL) {
                failed = 1;
                break;
            }
            rows = grown;
        }
        double *row = rows + count * (column_count + 1);
        for (size_t c = 0; c <= column_count; c++) row[c] = NAN;
        char *p = line;
        for (int index = 0; p; index++) {
            const double v = strtod(p, NULL);
            if (index == x_index) row[0] = v;
            for (size_t c = 0; c < column_count; c++)
                if (index == wanted[c]) row[c + 1] = v;
            p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL;
        }
        if (isfinite(row[0])) count++;
    }
    fclose(f);
    double *x = failed || count < 2 ? NULL : malloc(count * (column_count + 1) * sizeof *x);
    if (x) {
        double *values = x + count;
        for (size_t i = 0; i < count; i++) {
            x[i] = rows[i * (column_count + 1)];
            for (size_t c = 0; c < column_count; c++) values[c * count + i] = rows[i * (column_count + 1) + c + 1];
        }
        const cli_plot plot = {title, x_column, "loss", x, values, count, column_count, columns};
        failed = cli_plot_png(&plot, png) != DF_OK;
    }
    free(rows);
    const int ok = x != NULL && !failed;
    free(x);
    return ok ? 0 : -1;
}
