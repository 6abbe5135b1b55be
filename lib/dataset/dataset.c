/* df_dataset: an image folder (and its labels) as items, five-cropped and resized. */
#include "dataset_internal.h"
#include "dinofeat/eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void df_dataset_free(df_dataset *dataset) {
    if (dataset == NULL) return;
    dfi_pass_stop(&dataset->pass);
    pthread_mutex_destroy(&dataset->pass.lock);
    pthread_cond_destroy(&dataset->pass.changed);
    dfi_free_names(dataset->names, dataset->count);
    dfi_free_names(dataset->skipped, dataset->skipped_count);
    dfi_free_names(dataset->reasons, dataset->skipped_count);
    df_options_free(dataset->decode);
    free(dataset->images);
    free(dataset->labels);
    free(dataset->boxes);
    free(dataset->box_values);
    free(dataset->box_offsets);
    free(dataset);
}

/* The label file of image name: the same relative path with .png (or the layout's extension),
 * and the layout's suffix of the stem in place of the image's (Cityscapes: _leftImg8bit ->
 * _gtFine_labelIds). */
static char *label_path(const df_dataset *d, const char *name) {
    const char *dot = strrchr(name, '.');
    size_t stem = (size_t)(dot - name);
    const size_t from = d->label_from ? strlen(d->label_from) : 0;
    const int swap = from && stem >= from && strncmp(name + stem - from, d->label_from, from) == 0;
    if (swap) stem -= from;
    const char *suffix = swap ? d->label_to : "", *extension = d->label_extension ? d->label_extension : ".png";
    const size_t n = strlen(d->labels) + stem + strlen(suffix) + strlen(extension) + 2;
    char *path = malloc(n);
    if (path) snprintf(path, n, "%s/%.*s%s%s", d->labels, (int)stem, name, suffix, extension);
    return path;
}

/* A distributed dataset's stored label values as the classes it is scored on. */
static df_status map_labels(const df_dataset *d, const char *path, df_image *labels) {
    if (df_image_bit_depth(labels) != 8)
        return dfi_error(DF_E_INVALID_ARG, "%s: %zu-bit labels, not the 8-bit ones the dataset is distributed with", path,
                         df_image_bit_depth(labels));
    uint8_t *p = df_image_pixels(labels);
    for (size_t i = 0, n = df_image_width(labels) * df_image_height(labels); i < n; i++) p[i] = d->label_map[p[i]];
    return DF_OK;
}

/* RGB labels (SUIM's masks) as one code a pixel, each channel above 127 a bit: red 4, green 2,
 * blue 1 (SUIM's own reader thresholds value / 255 at 0.5, so off-colour edges fall to the nearest
 * corner of the cube). */
static df_status code_colours(const char *path, df_image **labels) {
    const size_t channels = df_image_channels(*labels), n = df_image_width(*labels) * df_image_height(*labels);
    if (df_image_bit_depth(*labels) != 8 || channels < 3)
        return dfi_error(DF_E_INVALID_ARG, "%s: %zu-channel %zu-bit labels, not the 8-bit colours the dataset is "
                                           "distributed with", path, channels, df_image_bit_depth(*labels));
    df_image *codes = NULL;
    df_status status = df_image_new(df_image_width(*labels), df_image_height(*labels), 1, 8, &codes);
    const uint8_t *rgb = df_image_pixels(*labels);
    uint8_t *code = df_image_pixels(codes);
    for (size_t i = 0; status == DF_OK && i < n; i++, rgb += channels)
        code[i] = (uint8_t)((rgb[0] > 127) << 2 | (rgb[1] > 127) << 1 | (rgb[2] > 127));
    if (status == DF_OK) df_image_free(*labels), *labels = codes;
    return status;
}

static df_status check_labels(const df_dataset *d) {
    for (size_t i = 0; d->labels && i < d->count; i++) {
        char *path = label_path(d, d->names[i]);
        if (path == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
        const int missing = access(path, R_OK) != 0;
        df_status status = missing ? dfi_error(DF_E_INVALID_ARG, "%s: no label image for %s/%s", path, d->images,
                                               d->names[i])
                                   : DF_OK;
        free(path);
        if (status != DF_OK) return status;
    }
    return DF_OK;
}

static df_status decode_item(const df_dataset *d, size_t item, df_image **image, df_image **labels);

/* The boxes read at open of the images kept (reasons[i] NULL), moved down in place. */
static void keep_boxes(df_dataset *d, char *const *reasons) {
    size_t kept = 0, written = 0;
    for (size_t i = 0; i < d->count; i++) {
        const size_t first = d->box_offsets[i], n = d->box_offsets[i + 1] - first;
        if (reasons[i]) continue;
        memmove(d->box_values + 4 * written, d->box_values + 4 * first, n * 4 * sizeof *d->box_values);
        d->box_offsets[kept++] = written; /* kept <= i: entries still to be read are untouched */
        written += n;
    }
    d->box_offsets[kept] = written;
}

/* dataset.skip_broken: every image decoded once (in parallel, in no particular order), those that
 * fail moved, in name order, to the skipped list with the reason. */
static df_status leave_out_broken(df_dataset *d) {
    const int saved_five_crop = d->five_crop;
    char **reasons = calloc(d->count, sizeof *reasons);
    if (reasons == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    d->five_crop = 0; /* item i is image i while checking */
    int out_of_memory = 0;
#pragma omp parallel for schedule(dynamic) reduction(| : out_of_memory)
    for (size_t i = 0; i < d->count; i++) {
        df_image *image = NULL, *labels = NULL;
        const df_status status = decode_item(d, i, &image, d->labels ? &labels : NULL);
        if (status == DF_E_OUT_OF_MEMORY) out_of_memory = 1;
        else if (status != DF_OK && (reasons[i] = strdup(df_last_error_message())) == NULL) out_of_memory = 1;
        df_image_free(image), df_image_free(labels);
    }
    d->five_crop = saved_five_crop;
    size_t kept = 0, broken = 0;
    for (size_t i = 0; i < d->count; i++) broken += reasons[i] != NULL;
    df_status status = out_of_memory ? dfi_error(DF_E_OUT_OF_MEMORY, "out of memory") : DF_OK;
    if (status == DF_OK && broken == d->count)
        status = dfi_error(DF_E_INVALID_ARG, "no image under %s could be decoded (%zu tried; %s)", d->images, d->count,
                           reasons[0]);
    if (status == DF_OK && broken > 0 &&
        ((d->skipped = calloc(broken, sizeof *d->skipped)) == NULL || (d->reasons = calloc(broken, sizeof *d->reasons)) == NULL))
        status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    if (status == DF_OK && d->box_offsets) keep_boxes(d, reasons);
    for (size_t i = 0; status == DF_OK && i < d->count; i++) {
        if (reasons[i] == NULL) {
            d->names[kept++] = d->names[i];
            continue;
        }
        d->skipped[d->skipped_count] = d->names[i];
        d->reasons[d->skipped_count++] = reasons[i];
        reasons[i] = NULL;
    }
    const size_t tried = d->count;
    if (status == DF_OK) d->count = kept;
    for (size_t i = 0; i < tried; i++) free(reasons[i]); /* those moved are NULL here */
    free(reasons);
    return status;
}

static df_status read_settings(df_dataset *d, const df_options *options) {
    d->five_crop = (int)dfi_option_int(options, DF_PARAM_DATASET_FIVE_CROP);
    d->size = dfi_option_int(options, DF_PARAM_DATASET_SIZE);
    d->filter = dfi_option_int(options, DF_PARAM_DATASET_FILTER);
    d->shuffle = dfi_option_int(options, DF_PARAM_DATASET_SHUFFLE);
    d->seed = dfi_option_int(options, DF_PARAM_DATASET_SEED);
    d->workers = dfi_option_int(options, DF_PARAM_DATASET_WORKERS);
    d->prefetch = dfi_option_int(options, DF_PARAM_DATASET_PREFETCH);
    d->multiple = dfi_option_int(options, DF_PARAM_DATASET_MULTIPLE);
    d->stretch = dfi_option_int(options, DF_PARAM_DATASET_STRETCH);
    if (d->filter != DF_RESIZE_NEAREST && d->filter != DF_RESIZE_BILINEAR && d->filter != DF_RESIZE_BICUBIC)
        return dfi_error(DF_E_INVALID_ARG, "dataset.filter %lld is not a df_resize_filter", (long long)d->filter);
    df_status status = options ? df_options_copy(options, &d->decode) : df_options_new(&d->decode);
    if (status != DF_OK) return status;
    return df_options_set_int(d->decode, DF_PARAM_IMAGE_PALETTE_INDICES, 0);
}

static df_status open_layout(df_dataset *d, const char *root, const df_options *options) {
    dfi_layout layout;
    df_status status = dfi_layout_open(root, options, &layout);
    if (status != DF_OK) return status;
    d->images = layout.images, d->labels = layout.labels, d->boxes = layout.boxes, d->names = layout.names;
    d->count = layout.count;
    d->label_from = layout.label_from, d->label_to = layout.label_to, d->label_map = layout.label_map;
    d->label_extension = layout.label_extension;
    d->label_colours = layout.label_colours;
    d->box_values = layout.box_values, d->box_offsets = layout.box_offsets;
    return DF_OK;
}

df_status df_dataset_open(const char *images, const char *labels, const df_options *options, df_dataset **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_NOT_NULL(images);
    df_dataset *d = calloc(1, sizeof *d);
    if (d == NULL) DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "out of memory"));
    pthread_mutex_init(&d->pass.lock, NULL);
    pthread_cond_init(&d->pass.changed, NULL);
    const int distributed = dfi_option_int(options, DF_PARAM_DATASET_LAYOUT) != DF_DATASET_LAYOUT_FOLDER;
    df_status status = read_settings(d, options);
    if (status == DF_OK && distributed && labels)
        status = dfi_error(DF_E_INVALID_ARG, "a distributed dataset (dataset.layout) brings its labels: pass labels NULL");
    if (status == DF_OK && distributed) status = open_layout(d, images, options);
    else if (status == DF_OK)
        status = (d->images = strdup(images)) && (!labels || (d->labels = strdup(labels)))
                     ? dfi_list_images(images, &d->names, &d->count)
                     : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    if (status == DF_OK && d->count == 0) status = dfi_error(DF_E_INVALID_ARG, "%s holds no PNG or JPEG image", images);
    /* a distributed dataset is also read for prediction, before or without its labels: a missing
       label file fails where labels are asked for */
    if (status == DF_OK && !distributed) status = check_labels(d);
    if (status == DF_OK && dfi_option_int(options, DF_PARAM_DATASET_SKIP_BROKEN)) status = leave_out_broken(d);
    if (status != DF_OK) {
        df_dataset_free(d);
        DFI_RETURN(status);
    }
    *out = d;
    return DF_OK;
}

df_status df_dataset_skipped(const df_dataset *dataset, size_t index, size_t *count, const char **name,
                             const char **reason) {
    DFI_CHECK_NOT_NULL(dataset);
    if (count) *count = dataset->skipped_count;
    if (name == NULL && reason == NULL) return DF_OK;
    if (index >= dataset->skipped_count)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "index %zu of %zu skipped images", index, dataset->skipped_count));
    if (name) *name = dataset->skipped[index];
    if (reason) *reason = dataset->reasons[index];
    return DF_OK;
}

df_status df_dataset_count(const df_dataset *dataset, size_t *items) {
    DFI_CHECK_NOT_NULL(dataset);
    DFI_CHECK_NOT_NULL(items);
    *items = dataset->five_crop ? 5 * dataset->count : dataset->count;
    return DF_OK;
}

static df_status check_item(const df_dataset *d, size_t item) {
    size_t items;
    df_dataset_count(d, &items);
    return item < items ? DF_OK : dfi_error(DF_E_INVALID_ARG, "item %zu of %zu", item, items);
}

df_status df_dataset_name(const df_dataset *dataset, size_t item, const char **name, int *crop) {
    DFI_CHECK_NOT_NULL(dataset);
    DFI_CHECK_NOT_NULL(name);
    df_status status = check_item(dataset, item);
    if (status != DF_OK) DFI_RETURN(status);
    *name = dataset->names[dataset->five_crop ? item / 5 : item];
    if (crop) *crop = dataset->five_crop ? (int)(item % 5) : -1;
    return DF_OK;
}

/* torchvision's five_crop of (h, w) = half the size: the crop's top-left corner. */
static void five_crop_corner(size_t width, size_t height, int crop, size_t *x, size_t *y) {
    const size_t w = width / 2, h = height / 2;
    *x = crop == 1 || crop == 3 ? width - w : crop == 4 ? dfi_centre_offset(width - w) : 0;
    *y = crop == 2 || crop == 3 ? height - h : crop == 4 ? dfi_centre_offset(height - h) : 0;
}

static df_status cut(const df_image *image, size_t x, size_t y, size_t w, size_t h, df_image **out) {
    const size_t bytes = df_image_channels(image) * df_image_bit_depth(image) / 8, row = df_image_width(image) * bytes;
    const uint8_t *p = df_image_pixels((df_image *)image);
    return df_image_from_pixels(p + y * row + x * bytes, w, h, df_image_channels(image), df_image_bit_depth(image), row,
                                out);
}

/* Short side to size, then the centred size x size square (torchvision's Resize + CenterCrop). */
static df_status resize_and_centre(const df_image *image, size_t size, int filter, df_image **out) {
    const size_t w = df_image_width(image), h = df_image_height(image);
    const size_t nw = w <= h ? size : (size_t)((double)size * (double)w / (double)h),
                 nh = h <= w ? size : (size_t)((double)size * (double)h / (double)w);
    df_image *sized = NULL;
    df_status status = df_image_resize(image, nw, nh, (df_resize_filter)filter, &sized);
    if (status == DF_OK)
        status = cut(sized, dfi_centre_offset(nw - size), dfi_centre_offset(nh - size), size, size, out);
    df_image_free(sized);
    return status;
}

/* The centred crop to whole multiples of `multiple` pixels (HR-Dv2's closest_crop). */
static df_status crop_to_multiple(const df_image *image, size_t multiple, const char *path, df_image **out) {
    const size_t w = df_image_width(image), h = df_image_height(image), cw = w / multiple * multiple,
                 ch = h / multiple * multiple;
    if (cw == 0 || ch == 0)
        return dfi_error(DF_E_INVALID_ARG, "%s: %zu x %zu is smaller than dataset.multiple %zu", path, w, h, multiple);
    return cut(image, dfi_centre_offset(w - cw), dfi_centre_offset(h - ch), cw, ch, out);
}

/* One image or label file through the five-crop, the resize (stretched, or short side and centre
 * crop) and the crop to multiples. */
static df_status prepare(const df_dataset *d, const char *path, const df_options *decode, int crop, int filter,
                         df_image **out) {
    df_image *whole = NULL, *piece = NULL;
    const size_t length = strlen(path);
    const char *extension = length > 4 ? path + length - 4 : "";
    df_status status = strcmp(extension, ".mat") == 0   ? dfi_mat_load(path, &whole)
                       : strcmp(extension, ".bmp") == 0 ? dfi_bmp_load(path, decode, &whole)
                                                        : df_image_load(path, decode, &whole);
    if (status == DF_OK && crop >= 0) {
        size_t x, y;
        const size_t w = df_image_width(whole), h = df_image_height(whole);
        five_crop_corner(w, h, crop, &x, &y);
        status = w >= 2 && h >= 2 ? cut(whole, x, y, w / 2, h / 2, &piece)
                                  : dfi_error(DF_E_INVALID_ARG, "%s: too small to five-crop", path);
    }
    const df_image *source = piece ? piece : whole;
    df_image *sized = NULL;
    if (status == DF_OK && d->size > 0 && d->stretch)
        status = df_image_resize(source, (size_t)d->size, (size_t)d->size, (df_resize_filter)filter, &sized);
    else if (status == DF_OK && d->size > 0) status = resize_and_centre(source, (size_t)d->size, filter, &sized);
    if (sized) source = sized;
    if (status == DF_OK && d->multiple > 1) status = crop_to_multiple(source, (size_t)d->multiple, path, out);
    else if (status == DF_OK && sized) *out = sized, sized = NULL;
    else if (status == DF_OK) status = df_image_from_pixels(df_image_pixels((df_image *)source), df_image_width(source),
                                                            df_image_height(source), df_image_channels(source),
                                                            df_image_bit_depth(source), 0, out);
    df_image_free(sized);
    df_image_free(piece);
    df_image_free(whole);
    return status;
}

static df_status decode_item(const df_dataset *d, size_t item, df_image **image, df_image **labels) {
    const char *name;
    int crop;
    df_dataset_name(d, item, &name, &crop);
    const size_t n = strlen(d->images) + strlen(name) + 2;
    char *path = malloc(n), *label_file = d->labels && labels ? label_path(d, name) : NULL;
    df_options *indices = NULL;
    if (path == NULL || (d->labels && labels && label_file == NULL)) {
        free(path);
        free(label_file);
        return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    }
    snprintf(path, n, "%s/%s", d->images, name);
    df_status status = image ? prepare(d, path, d->decode, crop, (int)d->filter, image) : DF_OK;
    if (status == DF_OK && label_file) status = df_options_copy(d->decode, &indices);
    if (status == DF_OK && label_file) status = df_options_set_int(indices, DF_PARAM_IMAGE_PALETTE_INDICES, 1);
    if (status == DF_OK && label_file) status = prepare(d, label_file, indices, crop, DF_RESIZE_NEAREST, labels);
    if (status == DF_OK && label_file && d->label_colours) status = code_colours(label_file, labels);
    if (status == DF_OK && label_file && df_image_channels(*labels) != 1)
        status = dfi_error(DF_E_INVALID_ARG, "%s: a label image has one channel, not %zu", label_file,
                           df_image_channels(*labels));
    if (status == DF_OK && label_file && d->label_map) status = map_labels(d, label_file, *labels);
    if (status != DF_OK && image) df_image_free(*image), *image = NULL;
    if (status != DF_OK && labels && *labels) df_image_free(*labels), *labels = NULL;
    df_options_free(indices);
    free(label_file);
    free(path);
    return status;
}

/* For the workers: one item, both outputs NULL unless it decoded. */
df_status dfi_dataset_decode(const df_dataset *d, size_t item, df_image **image, df_image **labels) {
    *image = NULL;
    if (labels) *labels = NULL;
    return decode_item(d, item, image, labels);
}

df_status df_dataset_get(const df_dataset *dataset, size_t item, df_image **image, df_image **labels) {
    DFI_CHECK_NOT_NULL(dataset);
    DFI_CHECK_ARG(image != NULL || labels != NULL, "neither image nor labels asked for");
    if (image) *image = NULL;
    if (labels) *labels = NULL;
    df_status status = check_item(dataset, item);
    if (status == DF_OK) status = decode_item(dataset, item, image, labels);
    DFI_RETURN(status);
}

/* The pass's order: items in order, or a Fisher-Yates permutation seeded by seed and epoch. */
static size_t *pass_order(const df_dataset *d, uint64_t epoch, size_t items) {
    size_t *order = malloc((items ? items : 1) * sizeof *order);
    for (size_t i = 0; order && i < items; i++) order[i] = i;
    uint64_t state = (uint64_t)d->seed * 0x9e3779b97f4a7c15ull ^ (epoch + 1) * 0xd1b54a32d192ed03ull;
    for (size_t i = items; order && d->shuffle && i > 1; i--) {
        const size_t j = (size_t)(dfi_splitmix64(&state) % i), t = order[i - 1];
        order[i - 1] = order[j], order[j] = t;
    }
    return order;
}

df_status df_dataset_start(df_dataset *dataset, uint64_t epoch) {
    DFI_CHECK_NOT_NULL(dataset);
    dfi_pass_stop(&dataset->pass);
    size_t items;
    df_dataset_count(dataset, &items);
    size_t *order = pass_order(dataset, epoch, items);
    df_status status = order ? dfi_pass_start(dataset, order, items) : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    DFI_RETURN(status);
}

df_status df_dataset_next(df_dataset *dataset, size_t *item, df_image **image, df_image **labels, int *done) {
    DFI_CHECK_NOT_NULL(dataset);
    DFI_CHECK_NOT_NULL(done);
    if (image) *image = NULL;
    if (labels) *labels = NULL;
    if (!dataset->pass.running) DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "no pass: call df_dataset_start first"));
    DFI_RETURN(dfi_pass_next(&dataset->pass, item, image, labels, done));
}

df_status df_dataset_boxes(const df_dataset *dataset, size_t item, int32_t *boxes, size_t capacity, size_t *count) {
    DFI_CHECK_NOT_NULL(dataset);
    DFI_CHECK_NOT_NULL(count);
    const char *name;
    df_status status = check_item(dataset, item);
    if (status == DF_OK && dataset->boxes == NULL && dataset->box_offsets == NULL)
        status = dfi_error(DF_E_UNSUPPORTED, "this dataset's layout has no boxes (VOC's and COCO-20k's have)");
    if (status != DF_OK) DFI_RETURN(status);
    if (dataset->box_offsets) {
        const size_t first = dataset->box_offsets[item], found = dataset->box_offsets[item + 1] - first;
        if (boxes && found > capacity)
            DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "item %zu has %zu boxes, room was given for %zu", item, found, capacity));
        if (boxes && found) memcpy(boxes, dataset->box_values + 4 * first, found * 4 * sizeof *boxes);
        *count = found;
        return DF_OK;
    }
    df_dataset_name(dataset, item, &name, NULL);
    const char *dot = strrchr(name, '.');
    const size_t stem = dot ? (size_t)(dot - name) : strlen(name), n = strlen(dataset->boxes) + stem + 6;
    char *path = malloc(n);
    if (path == NULL) DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "out of memory"));
    snprintf(path, n, "%s/%.*s.xml", dataset->boxes, (int)stem, name);
    status = df_boxes_load(path, boxes, capacity, count);
    free(path);
    DFI_RETURN(status);
}
