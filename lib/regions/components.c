/* Connected components by two raster passes with union-find, boxes, box IoU. */
#include "../internal.h"
#include "dinofeat/regions.h"

#include <stdlib.h>

static uint32_t find(uint32_t *parent, uint32_t x) {
    while (parent[x] != x) {
        parent[x] = parent[parent[x]]; /* path halving */
        x = parent[x];
    }
    return x;
}

static void unite(uint32_t *parent, uint32_t a, uint32_t b) {
    a = find(parent, a);
    b = find(parent, b);
    /* The smaller provisional label (earlier in raster order) stays the root. */
    if (a < b) parent[b] = a;
    else if (b < a) parent[a] = b;
}

df_status df_connected_components(const int32_t *labels, size_t width, size_t height, int connectivity,
                                  int32_t background, int32_t *components, size_t *count) {
    DFI_CHECK_NOT_NULL(labels);
    DFI_CHECK_NOT_NULL(components);
    DFI_CHECK_NOT_NULL(count);
    if (connectivity != 4 && connectivity != 8)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "connectivity must be 4 or 8, got %d", connectivity));
    size_t pixels;
    if (width == 0 || height == 0 || dfi_mul_size(width, height, &pixels) || pixels >= UINT32_MAX)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "a %zu x %zu map is empty or too large", width, height));
    /* parent[p] for provisional labels; provisional label of a pixel = 1 + index of the pixel
     * that started it, so raster order is label order. */
    uint32_t *parent = malloc((pixels + 1) * sizeof *parent);
    uint32_t *provisional = malloc(pixels * sizeof *provisional);
    if (!parent || !provisional) {
        free(parent), free(provisional);
        DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "out of memory"));
    }
    for (size_t y = 0; y < height; y++)
        for (size_t x = 0; x < width; x++) {
            size_t p = y * width + x;
            int32_t value = labels[p];
            provisional[p] = 0;
            if (value == background) continue;
            uint32_t mine = 0;
            /* neighbours already scanned: left, up, and for 8-connectivity up-left and up-right */
            const long offsets[4][2] = {{-1, 0}, {0, -1}, {-1, -1}, {1, -1}};
            for (int k = 0; k < (connectivity == 8 ? 4 : 2); k++) {
                long nx = (long)x + offsets[k][0], ny = (long)y + offsets[k][1];
                if (nx < 0 || ny < 0 || nx >= (long)width) continue;
                size_t q = (size_t)ny * width + (size_t)nx;
                if (labels[q] != value || provisional[q] == 0) continue;
                if (mine == 0) mine = provisional[q];
                else unite(parent, mine, provisional[q]);
            }
            if (mine == 0) {
                mine = (uint32_t)p + 1;
                parent[mine] = mine;
            }
            provisional[p] = mine;
        }
    /* Second pass: roots numbered 1, 2, ... in order of their first pixel. */
    uint32_t *number = calloc(pixels + 1, sizeof *number);
    if (number == NULL) {
        free(parent), free(provisional);
        DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "out of memory"));
    }
    uint32_t next = 0;
    for (size_t p = 0; p < pixels; p++) {
        if (provisional[p] == 0) {
            components[p] = 0;
            continue;
        }
        uint32_t root = find(parent, provisional[p]);
        if (number[root] == 0) number[root] = ++next;
        components[p] = (int32_t)number[root];
    }
    *count = next;
    free(parent), free(provisional), free(number);
    return DF_OK;
}

df_status df_component_boxes(const int32_t *components, size_t width, size_t height, size_t count, int32_t *boxes,
                             int64_t *areas) {
    DFI_CHECK_NOT_NULL(components);
    DFI_CHECK_ARG(count == 0 || boxes != NULL, "boxes is NULL");
    if (width > INT32_MAX || height > INT32_MAX)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "a %zu x %zu map is too large", width, height));
    for (size_t i = 0; i < count; i++) {
        boxes[4 * i] = boxes[4 * i + 1] = INT32_MAX;
        boxes[4 * i + 2] = boxes[4 * i + 3] = INT32_MIN;
        if (areas) areas[i] = 0;
    }
    for (size_t y = 0; y < height; y++)
        for (size_t x = 0; x < width; x++) {
            int32_t id = components[y * width + x];
            if (id == 0) continue;
            if (id < 0 || (size_t)id > count)
                DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "component id %d at (%zu, %zu) is outside 1..%zu", id, x, y, count));
            int32_t *box = boxes + 4 * (size_t)(id - 1);
            if ((int32_t)x < box[0]) box[0] = (int32_t)x;
            if ((int32_t)y < box[1]) box[1] = (int32_t)y;
            if ((int32_t)x + 1 > box[2]) box[2] = (int32_t)x + 1;
            if ((int32_t)y + 1 > box[3]) box[3] = (int32_t)y + 1;
            if (areas) areas[id - 1]++;
        }
    for (size_t i = 0; i < count; i++) /* components without pixels get an empty box */
        if (boxes[4 * i] == INT32_MAX) boxes[4 * i] = boxes[4 * i + 1] = boxes[4 * i + 2] = boxes[4 * i + 3] = 0;
    return DF_OK;
}

df_status df_box_iou(const int32_t *a, const int32_t *b, double *out) {
    DFI_CHECK_NOT_NULL(a);
    DFI_CHECK_NOT_NULL(b);
    DFI_CHECK_NOT_NULL(out);
    int64_t area_a = (int64_t)(a[2] > a[0] ? a[2] - a[0] : 0) * (a[3] > a[1] ? a[3] - a[1] : 0);
    int64_t area_b = (int64_t)(b[2] > b[0] ? b[2] - b[0] : 0) * (b[3] > b[1] ? b[3] - b[1] : 0);
    int64_t w = (int64_t)(a[2] < b[2] ? a[2] : b[2]) - (a[0] > b[0] ? a[0] : b[0]);
    int64_t h = (int64_t)(a[3] < b[3] ? a[3] : b[3]) - (a[1] > b[1] ? a[1] : b[1]);
    int64_t intersection = w > 0 && h > 0 ? w * h : 0, union_ = area_a + area_b - intersection;
    *out = union_ > 0 ? (double)intersection / (double)union_ : 0.0;
    return DF_OK;
}
