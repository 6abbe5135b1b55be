/* dinofeat weak live: an interactive tool's scribble loop replayed from a script, with the
 * latency of each step (df_weak_live_*): the features computed once, then per action the forest
 * refit on every labelled pixel and the view predicted. */
#include "cli.h"
#include "draw.h"
#include "verb_weak.h"
#include "dinofeat/weak.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct live_request {
    const char *image, *script, *out, *save;
    size_t view[4]; /* x, y, width, height; width 0: the whole image */
} live_request;

/* Reads "X,Y" pairs from the rest of a line into points (at most capacity pairs). */
static size_t read_points(char *text, float *points, size_t capacity, int *bad) {
    size_t count = 0;
    for (char *token = strtok(text, " \t\r\n"); token; token = strtok(NULL, " \t\r\n")) {
        float x, y;
        char tail;
        if (count == capacity || sscanf(token, "%f,%f%c", &x, &y, &tail) != 2) {
            *bad = 1;
            return 0;
        }
        points[2 * count] = x, points[2 * count + 1] = y;
        count++;
    }
    *bad = count == 0;
    return count;
}

/* Sets the labelled pixels of a label PNG (its zeros leave the scribbles as they are). */
static df_status apply_labels(df_weak_live *live, const char *path, size_t w, size_t h) {
    df_image *marks = NULL;
    df_status status = weak_load_labels(path, &marks);
    if (status == DF_OK && (df_image_width(marks) != w || df_image_height(marks) != h || df_image_channels(marks) != 1))
        status = DF_E_INVALID_ARG, fprintf(stderr, "dinofeat weak live: %s is not a one-channel %zu x %zu label image\n",
                                           path, w, h);
    int32_t *labels = status == DF_OK ? malloc(w * h * sizeof *labels) : NULL;
    if (status == DF_OK && labels == NULL) status = DF_E_OUT_OF_MEMORY;
    for (size_t i = 0; status == DF_OK && i < w * h; i++) {
        const int32_t v = df_image_bit_depth(marks) == 16 ? ((const uint16_t *)df_image_pixels(marks))[i]
                                                          : ((const uint8_t *)df_image_pixels(marks))[i];
        labels[i] = v == 0 ? -1 : v;
    }
    if (status == DF_OK) status = df_weak_live_set_labels(live, 0, 0, w, h, labels);
    free(labels);
    df_image_free(marks);
    return status;
}

/* One script line: an action on the scribbles (*acted = 1) or nothing (blank, comment). */
static df_status act(df_weak_live *live, char *line, size_t w, size_t h, int *acted, char *what, size_t size) {
    static float points[2 * 4096];
    char word[16];
    int used = 0, bad = 0;
    *acted = 0;
    char *hash = strchr(line, '#');
    if (hash) *hash = 0;
    if (sscanf(line, "%15s%n", word, &used) != 1) return DF_OK;
    char *rest = line + used;
    *acted = 1;
    if (strcmp(word, "labels") == 0) {
        char path[4096];
        if (sscanf(rest, "%4095s", path) != 1) return DF_E_INVALID_ARG;
        snprintf(what, size, "labels %s", path);
        return apply_labels(live, path, w, h);
    }
    long label = 0;
    double radius;
    int more = 0;
    if (strcmp(word, "stroke") == 0 ? sscanf(rest, "%ld %lf%n", &label, &radius, &more) != 2
                                    : strcmp(word, "erase") != 0 || sscanf(rest, "%lf%n", &radius, &more) != 1)
        return DF_E_INVALID_ARG;
    const size_t count = read_points(rest + more, points, sizeof points / sizeof *points / 2, &bad);
    if (bad) return DF_E_INVALID_ARG;
    if (label == 0) snprintf(what, size, "erase, %zu point(s)", count);
    else snprintf(what, size, "stroke class %ld, %zu point(s)", label, count);
    return df_weak_live_stroke(live, points, count, (float)radius, (int32_t)label);
}

static int compare_doubles(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Replays the script: per action, refit and predict the view, timed. */
static int replay(df_weak_live *live, const live_request *r, size_t w, size_t h) {
    FILE *script = fopen(r->script, "r");
    if (script == NULL) {
        fprintf(stderr, "dinofeat weak live: %s: %s\n", r->script, strerror(errno));
        return EXIT_INPUT;
    }
    const size_t vx = r->view[2] ? r->view[0] : 0, vy = r->view[2] ? r->view[1] : 0,
                 vw = r->view[2] ? r->view[2] : w, vh = r->view[2] ? r->view[3] : h;
    int32_t *labels = malloc(vw * vh * sizeof *labels);
    double *latencies = malloc(sizeof *latencies);
    size_t steps = 0, line_number = 0;
    int code = labels && latencies ? EXIT_OK : cli_fail("weak live", DF_E_OUT_OF_MEMORY);
    char line[65536], what[4200];
    while (code == EXIT_OK && fgets(line, sizeof line, script)) {
        line_number++;
        int acted = 0;
        df_status status = act(live, line, w, h, &acted, what, sizeof what);
        if (status == DF_E_INVALID_ARG && df_last_error_message()[0] == 0)
            code = cli_usage_error("weak live", "%s:%zu: not 'stroke CLASS RADIUS X,Y ...', 'erase RADIUS X,Y ...' or "
                                   "'labels FILE'", r->script, line_number);
        else if (status != DF_OK) code = cli_fail("weak live", status);
        if (code != EXIT_OK || !acted) continue;
        const double start = cli_seconds_now();
        status = df_weak_live_update(live);
        const double fitted = cli_seconds_now();
        if (status == DF_OK) status = df_weak_live_predict(live, vx, vy, vw, vh, NULL, labels);
        const double end = cli_seconds_now();
        if (status != DF_OK) {
            code = cli_fail("weak live", status);
            break;
        }
        double *grown = realloc(latencies, (steps + 1) * sizeof *latencies);
        if (grown == NULL) {
            code = cli_fail("weak live", DF_E_OUT_OF_MEMORY);
            break;
        }
        latencies = grown;
        latencies[steps++] = end - start;
        printf("step %zu (%s): fit %.3f s, predict %.3f s, total %.3f s\n", steps, what, fitted - start, end - fitted,
               end - start);
        fflush(stdout);
    }
    fclose(script);
    if (code == EXIT_OK && steps == 0) code = cli_usage_error("weak live", "%s has no action", r->script);
    if (code == EXIT_OK) {
        qsort(latencies, steps, sizeof *latencies, compare_doubles);
        printf("%zu steps, %zu x %zu view: median %.3f s, slowest %.3f s after a change\n", steps, vw, vh,
               latencies[steps / 2], latencies[steps - 1]);
    }
    free(labels);
    free(latencies);
    return code;
}

/* The final segmentation and the full classifier, as asked. */
static int finish(df_weak_live *live, const live_request *r, size_t w, size_t h) {
    df_status status = DF_OK;
    if (r->out) {
        int32_t *labels = malloc(w * h * sizeof *labels);
        status = labels ? df_weak_live_predict(live, 0, 0, w, h, NULL, labels) : DF_E_OUT_OF_MEMORY;
        if (status == DF_OK) status = cli_write_label_png(labels, w, h, r->out);
        if (status == DF_OK) printf("wrote %s\n", r->out);
        free(labels);
    }
    df_weak *weak = NULL;
    if (status == DF_OK && r->save) status = df_weak_live_classifier(live, &weak);
    if (status == DF_OK && r->save) status = df_weak_save(weak, r->save);
    if (status == DF_OK && r->save) printf("wrote %s\n", r->save);
    df_weak_free(weak);
    return status == DF_OK ? EXIT_OK : cli_fail("weak live", status);
}

static int parse(int argc, char **argv, live_request *r, df_options *o) {
    struct request rows;
    int code = cli_rows_parse(&weak_command, WEAK_LIVE, argc, argv, &rows, o);
    r->image = rows.image, r->script = rows.script, r->out = rows.out, r->save = rows.save;
    char tail;
    if (code == EXIT_OK && rows.view &&
        (sscanf(rows.view, "%zu,%zu,%zu,%zu%c", &r->view[0], &r->view[1], &r->view[2], &r->view[3], &tail) != 4 ||
         r->view[2] == 0 || r->view[3] == 0))
        code = cli_usage_error("weak live", "--view takes X,Y,W,H (W, H >= 1), not '%s'", rows.view);
    if (code == EXIT_OK) code = weak_check_classical(o, "weak live");
    return code;
}

int weak_live(int argc, char **argv) {
    live_request r = {0};
    df_options *o = NULL;
    if (cli_options_new(&o) != DF_OK) return cli_fail("weak live", DF_E_OUT_OF_MEMORY);
    int code = parse(argc, argv, &r, o);
    df_image *image = NULL;
    df_weak_live *live = NULL;
    if (code == EXIT_OK) {
        df_status status = df_image_load(r.image, NULL, &image);
        const double start = cli_seconds_now();
        if (status == DF_OK) status = df_weak_live_new(image, o, &live);
        if (status == DF_OK)
            printf("features of the %zu x %zu image: %.2f s\n", df_image_width(image), df_image_height(image),
                   cli_seconds_now() - start);
        code = status == DF_OK ? EXIT_OK : cli_fail("weak live", status);
    }
    const size_t w = image ? df_image_width(image) : 0, h = image ? df_image_height(image) : 0;
    if (code == EXIT_OK && r.view[2] && (r.view[0] + r.view[2] > w || r.view[1] + r.view[3] > h))
        code = cli_usage_error("weak live", "--view %zu,%zu,%zu,%zu leaves the %zu x %zu image", r.view[0], r.view[1],
                               r.view[2], r.view[3], w, h);
    if (code == EXIT_OK) code = replay(live, &r, w, h);
    if (code == EXIT_OK) code = finish(live, &r, w, h);
    df_weak_live_free(live);
    df_image_free(image);
    df_options_free(o);
    return code;
}
