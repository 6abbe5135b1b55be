/* Box files for CorLoc: the JSON that dinofeat's segmenters write, plain text and PASCAL VOC's
 * annotations. A box that cannot be read is an error naming the file's line, never a silent miss:
 * CorLoc counts misses. */
#include "../internal.h"
#include "dinofeat/eval.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The 1-based line of position at in text. */
static size_t line_of(const char *text, const char *at) {
    size_t line = 1;
    for (const char *p = text; p < at; p++) line += *p == '\n';
    return line;
}

static const char *skip_blanks(const char *p, int newlines) {
    while (*p == ' ' || *p == '\t' || *p == '\r' || (newlines && *p == '\n')) p++;
    return p;
}

/* Four whole numbers at p, separated by blanks (text) or commas and line breaks (JSON); the
 * position after the fourth in *end. */
static int four_numbers(const char *p, int json, int32_t box[4], const char **end) {
    for (int k = 0; k < 4; k++) {
        p = skip_blanks(p, json);
        if (json && k > 0 && *p == ',') p = skip_blanks(p + 1, 1);
        char *stop;
        errno = 0;
        const long v = strtol(p, &stop, 10);
        if (stop == p || errno || v < INT32_MIN || v > INT32_MAX) return -1;
        box[k] = (int32_t)v, p = stop;
    }
    *end = p;
    return 0;
}

/* The box of the JSON member at key ("box"), or -1. */
static int json_box(const char *key, int32_t box[4]) {
    const char *open = key + 5, *end;
    while (*open == ' ' || *open == '\t' || *open == '\n' || *open == '\r' || *open == ':') open++;
    if (*open != '[' || four_numbers(open + 1, 1, box, &end) != 0) return -1;
    return *skip_blanks(end, 1) == ']' ? 0 : -1;
}

/* The box of the text line at line (*blank set for a blank or comment line), or -1. */
static int text_box(const char *line, int32_t box[4], int *blank) {
    const char *q = skip_blanks(line, 0), *end;
    *blank = *q == '\n' || *q == '#' || *q == '\0';
    if (*blank) return 0;
    if (four_numbers(q, 0, box, &end) != 0) return -1;
    end = skip_blanks(end, 0);
    return *end == '\n' || *end == '\0' || *end == '#' ? 0 : -1;
}

enum { TEXT, JSON, VOC_XML };

/* The whole number in <tag>...</tag> between from and to (VOC writes some as 273.0), or -1. */
static int voc_number(const char *from, const char *to, const char *tag, int32_t *out) {
    char open[16];
    snprintf(open, sizeof open, "<%s>", tag);
    const char *at = strstr(from, open);
    if (at == NULL || at > to) return -1;
    char *stop;
    errno = 0;
    const double v = strtod(at + strlen(open), &stop);
    if (stop == at + strlen(open) || errno || v != floor(v) || v < INT32_MIN || v > INT32_MAX) return -1;
    *out = (int32_t)v;
    return *skip_blanks(stop, 1) == '<' ? 0 : -1;
}

/* A VOC annotation's <bndbox> at open: its 1-based inclusive corners as 0-based, maximum
 * exclusive (x_min - 1, y_min - 1, x_max, y_max), as the object-discovery papers' code reads them. */
static int voc_box(const char *open, int32_t box[4]) {
    const char *close = strstr(open, "</bndbox>");
    if (close == NULL || voc_number(open, close, "xmin", box) || voc_number(open, close, "ymin", box + 1) ||
        voc_number(open, close, "xmax", box + 2) || voc_number(open, close, "ymax", box + 3))
        return -1;
    box[0] -= 1, box[1] -= 1;
    return 0;
}

/* An object's own <bndbox> between from and end, past its <part>s' boxes (VOC's person layout
 * annotates head, hands and feet inside the person), or NULL. */
static const char *own_bndbox(const char *from, const char *end) {
    for (const char *p = from;;) {
        const char *box = strstr(p, "<bndbox>"), *part = strstr(p, "<part>");
        if (box == NULL || box >= end) return NULL;
        if (part == NULL || part > box) return box;
        const char *part_end = strstr(part, "</part>");
        if (part_end == NULL || part_end >= end) return NULL;
        p = part_end + 7;
    }
}

/* Whether <tag>1</tag> is between from and end. */
static int flag_set(const char *from, const char *end, const char *tag) {
    int32_t v = 0;
    return voc_number(from, end, tag, &v) == 0 && v == 1;
}

/* Reads every box of text into boxes (room for capacity; NULL: counts only); *bad at the first
 * malformed box. VOC: each <object>'s own box, those marked difficult or truncated left out when
 * remove_hards (LOST's evaluation). Returns the count. */
static size_t parse_boxes(const char *text, int format, int remove_hards, int32_t *boxes, size_t capacity,
                          const char **bad) {
    size_t count = 0;
    *bad = NULL;
    for (const char *p = text; *bad == NULL && *p;) {
        int32_t box[4];
        int blank = 0;
        if (format == VOC_XML) {
            const char *open = strstr(p, "<object>");
            if (open == NULL) break;
            const char *close = strstr(open, "</object>"), *end = close ? close : open + strlen(open);
            const char *own = own_bndbox(open, end);
            if (own == NULL || voc_box(own, box) != 0) *bad = own ? own : open;
            blank = remove_hards && (flag_set(open, end, "difficult") || flag_set(open, end, "truncated"));
            p = end;
        } else if (format == JSON) {
            const char *key = strstr(p, "\"box\"");
            if (key == NULL) break;
            if (json_box(key, box) != 0) *bad = key;
            p = key + 5;
        } else {
            const char *line_end = strchr(p, '\n');
            if (text_box(p, box, &blank) != 0) *bad = p;
            p = line_end ? line_end + 1 : p + strlen(p);
        }
        if (*bad == NULL && !blank) {
            if (boxes && count < capacity) memcpy(boxes + 4 * count, box, sizeof box);
            count++;
        }
    }
    return count;
}

static df_status load_boxes(const char *path, int remove_hards, int32_t *boxes, size_t capacity, size_t *count) {
    unsigned char *data = NULL;
    size_t size = 0;
    df_status status = dfi_read_file(path, &data, &size);
    if (status != DF_OK) return status;
    char *text = malloc(size + 1);
    if (text == NULL) {
        free(data);
        return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    }
    memcpy(text, data, size);
    text[size] = '\0';
    free(data);
    const size_t length = strlen(path);
    const int format = length >= 5 && strcmp(path + length - 5, ".json") == 0  ? JSON
                       : length >= 4 && strcmp(path + length - 4, ".xml") == 0 ? VOC_XML
                                                                               : TEXT;
    static const char *const expected[] = {"a line must hold four whole numbers x0 y0 x1 y1",
                                           "a box must be \"box\": [x0, y0, x1, y1] of whole numbers",
                                           "an <object> must hold a <bndbox> of whole <xmin>, <ymin>, <xmax> and <ymax>"};
    const char *bad = NULL;
    const size_t found = parse_boxes(text, format, remove_hards, boxes, capacity, &bad);
    if (bad) {
        const char *line_end = strchr(bad, '\n');
        const size_t shown = line_end ? (size_t)(line_end - bad) : strlen(bad);
        status = dfi_error(DF_E_FORMAT, "%s:%zu: %s, not '%.*s'", path, line_of(text, bad), expected[format],
                           (int)(shown > 60 ? 60 : shown), bad);
    } else if (boxes && found > capacity) {
        status = dfi_error(DF_E_INVALID_ARG, "%s holds %zu boxes, room was given for %zu", path, found, capacity);
    } else {
        *count = found;
    }
    free(text);
    return status;
}

df_status df_boxes_load(const char *path, int32_t *boxes, size_t capacity, size_t *count) {
    DFI_CHECK_NOT_NULL(path);
    DFI_CHECK_NOT_NULL(count);
    DFI_RETURN(load_boxes(path, 0, boxes, capacity, count));
}

df_status dfi_voc_easy_boxes(const char *path, int32_t *boxes, size_t capacity, size_t *count) {
    return load_boxes(path, 1, boxes, capacity, count);
}
