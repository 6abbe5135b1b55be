/* COCO's instances annotations (instances_train2014.json, or the selection TokenCut derives from
 * it): the boxes of the images a list names, as the object-discovery code reads them (LOST's and
 * TokenCut's extract_gt_COCO): every annotation of the image but the crowd ones, [x, y, w, h] made
 * [x, y, x + w, y + h] and rounded half to even (Python's round). The file is scanned once; only
 * the three fields needed are read, everything else (segmentations included) is skipped. */
#include "dataset_internal.h"

#include <ctype.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct scan {
    const char *p, *end;
} scan;

static void skip_space(scan *s) {
    while (s->p < s->end && isspace((unsigned char)*s->p)) s->p++;
}

/* A string's raw bytes between its quotes (escapes left as they are). */
static int read_string(scan *s, const char **text, size_t *length) {
    skip_space(s);
    if (s->p >= s->end || *s->p != '"') return -1;
    const char *start = ++s->p;
    while (s->p < s->end && *s->p != '"') s->p += *s->p == '\\' ? 2 : 1;
    if (s->p >= s->end) return -1;
    *text = start, *length = (size_t)(s->p - start);
    s->p++;
    return 0;
}

/* Any value, however nested. */
static int skip_value(scan *s) {
    size_t depth = 0;
    do {
        skip_space(s);
        if (s->p >= s->end) return -1;
        const char c = *s->p;
        if (c == '"') {
            const char *text;
            size_t length;
            if (read_string(s, &text, &length) != 0) return -1;
        } else if (c == '{' || c == '[') {
            depth++, s->p++;
        } else if (c == '}' || c == ']') {
            if (depth == 0) return -1;
            depth--, s->p++;
        } else if (c == ',' || c == ':') {
            if (depth == 0) return -1;
            s->p++;
        } else {
            const char *start = s->p;
            while (s->p < s->end && *s->p && !strchr(",:]} \t\r\n", *s->p)) s->p++;
            if (s->p == start) return -1;
        }
    } while (depth > 0);
    return 0;
}

static int read_number(scan *s, double *out) {
    skip_space(s);
    char *after;
    char buffer[64];
    const size_t n = (size_t)(s->end - s->p) < sizeof buffer - 1 ? (size_t)(s->end - s->p) : sizeof buffer - 1;
    memcpy(buffer, s->p, n);
    buffer[n] = 0;
    *out = strtod(buffer, &after);
    if (after == buffer) return -1;
    s->p += after - buffer;
    return 0;
}

static int expect(scan *s, char c) {
    skip_space(s);
    if (s->p >= s->end || *s->p != c) return -1;
    s->p++;
    return 0;
}

/* After a member or element: 1 when another follows, 0 at the closing bracket, -1 otherwise. */
static int another(scan *s, char closing) {
    skip_space(s);
    if (s->p < s->end && *s->p == ',') return s->p++, 1;
    if (s->p < s->end && *s->p == closing) return s->p++, 0;
    return -1;
}

typedef struct annotation {
    double image_id, iscrowd, bbox[4];
    int has_id, has_box;
} annotation;

static int read_annotation(scan *s, annotation *a) {
    memset(a, 0, sizeof *a);
    if (expect(s, '{') != 0) return -1;
    skip_space(s);
    if (s->p < s->end && *s->p == '}') return s->p++, 0;
    int more = 1;
    while (more == 1) {
        const char *key;
        size_t length;
        if (read_string(s, &key, &length) != 0 || expect(s, ':') != 0) return -1;
        int failed;
        if (length == 8 && memcmp(key, "image_id", 8) == 0) {
            failed = read_number(s, &a->image_id), a->has_id = 1;
        } else if (length == 7 && memcmp(key, "iscrowd", 7) == 0) {
            failed = read_number(s, &a->iscrowd);
        } else if (length == 4 && memcmp(key, "bbox", 4) == 0) {
            failed = expect(s, '[');
            for (int i = 0; !failed && i < 4; i++) failed = read_number(s, &a->bbox[i]) || (i < 3 && expect(s, ','));
            failed = failed || expect(s, ']');
            a->has_box = 1;
        } else {
            failed = skip_value(s);
        }
        if (failed) return -1;
        more = another(s, '}');
    }
    return more;
}

/* Python's round(): halves to even, whatever the FPU's rounding mode. */
static double round_half_even(double x) { return fabs(x - trunc(x)) == 0.5 ? 2.0 * round(x / 2.0) : round(x); }

/* Whether an annotation's numbers convert to an id and pixel coordinates (no NaN, no 1e300). */
static int in_range(const annotation *a) {
    int ok = !a->has_id || fabs(a->image_id) < 9.0e18;
    for (int k = 0; k < 4; k++) ok = ok && fabs(a->bbox[k]) < 1.0e9;
    return ok;
}

typedef struct wanted {
    int64_t id;
    size_t item;
} wanted;

static int by_id(const void *a, const void *b) {
    const int64_t x = ((const wanted *)a)->id, y = ((const wanted *)b)->id;
    return (x > y) - (x < y);
}

/* The COCO image id of a file name: its digits after the last '_' (COCO_train2014_000000560992.jpg). */
static int image_id(const char *name, int64_t *id) {
    const char *underscore = strrchr(name, '_');
    const char *digits = underscore ? underscore + 1 : name;
    char *after;
    const long long v = strtoll(digits, &after, 10);
    if (after == digits || (*after && *after != '.')) return -1;
    *id = v;
    return 0;
}

/* The per-item box lists, counted then filled: two scans of the annotations. */
typedef struct collected {
    int32_t *values;
    size_t *offsets, *filled;
} collected;

static df_status scan_annotations(scan s, const wanted *ids, size_t count, collected *c, int fill, const char *path) {
    const char *key;
    size_t length;
    if (expect(&s, '{') != 0) return dfi_error(DF_E_FORMAT, "%s: not a JSON object", path);
    for (int more = 1; more == 1;) {
        if (read_string(&s, &key, &length) != 0 || expect(&s, ':') != 0) break;
        if (!(length == 11 && memcmp(key, "annotations", 11) == 0)) {
            if (skip_value(&s) != 0) break;
            more = another(&s, '}');
            continue;
        }
        if (expect(&s, '[') != 0) break;
        skip_space(&s);
        if (s.p < s.end && *s.p == ']') return DF_OK;
        int next = 1;
        while (next == 1) {
            annotation a;
            if (read_annotation(&s, &a) < 0 || !in_range(&a))
                return dfi_error(DF_E_FORMAT, "%s: a malformed annotation", path);
            const wanted key_id = {(int64_t)a.image_id, 0};
            const wanted *hit = a.has_id && a.has_box ? bsearch(&key_id, ids, count, sizeof *ids, by_id) : NULL;
            if (hit && a.iscrowd != 1) {
                if (!fill) {
                    c->offsets[hit->item + 1]++;
                } else {
                    int32_t *box = c->values + 4 * (c->offsets[hit->item] + c->filled[hit->item]++);
                    const double corners[4] = {a.bbox[0], a.bbox[1], a.bbox[0] + a.bbox[2], a.bbox[1] + a.bbox[3]};
                    for (int k = 0; k < 4; k++) box[k] = (int32_t)round_half_even(corners[k]);
                }
            }
            next = another(&s, ']');
        }
        if (next < 0) break;
        return DF_OK;
    }
    return dfi_error(DF_E_FORMAT, "%s: no \"annotations\" array, or malformed JSON before it", path);
}

df_status dfi_coco_boxes(const char *path, char *const *names, size_t count, int32_t **values, size_t **offsets) {
    *values = NULL, *offsets = NULL;
    wanted *ids = malloc((count ? count : 1) * sizeof *ids);
    collected c = {NULL, calloc(count + 1, sizeof(size_t)), calloc(count + 1, sizeof(size_t))};
    df_status status = ids && c.offsets && c.filled ? DF_OK : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; status == DF_OK && i < count; i++) {
        ids[i].item = i;
        if (image_id(names[i], &ids[i].id) != 0) status = dfi_error(DF_E_INVALID_ARG, "%s: no COCO image id in its name", names[i]);
    }
    if (status == DF_OK) qsort(ids, count, sizeof *ids, by_id);
    const int fd = status == DF_OK ? open(path, O_RDONLY) : -1;
    struct stat st;
    if (status == DF_OK && (fd < 0 || fstat(fd, &st) != 0 || st.st_size == 0))
        status = dfi_error(DF_E_INVALID_ARG, "%s: cannot be read (COCO's annotations_trainval2014.zip, unpacked at the "
                                             "root, holds it)", path);
    const char *text = status == DF_OK ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    if (fd >= 0) close(fd);
    if (status == DF_OK && text == MAP_FAILED) status = dfi_error(DF_E_IO, "%s: cannot be mapped", path);
    const scan whole = {text, status == DF_OK ? text + st.st_size : text};
    if (status == DF_OK) status = scan_annotations(whole, ids, count, &c, 0, path);
    for (size_t i = 0; status == DF_OK && i < count; i++) c.offsets[i + 1] += c.offsets[i];
    if (status == DF_OK && (c.values = malloc((c.offsets[count] ? c.offsets[count] : 1) * 4 * sizeof(int32_t))) == NULL)
        status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    if (status == DF_OK) status = scan_annotations(whole, ids, count, &c, 1, path);
    if (text != MAP_FAILED) munmap((void *)text, (size_t)st.st_size);
    free(ids), free(c.filled);
    if (status != DF_OK) {
        free(c.values), free(c.offsets);
        return status;
    }
    *values = c.values, *offsets = c.offsets;
    return DF_OK;
}
