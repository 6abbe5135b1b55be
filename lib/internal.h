/* Internal helpers shared by lib/: never installed, never included by users. */
#ifndef DINOFEAT_LIB_INTERNAL_H
#define DINOFEAT_LIB_INTERNAL_H

#include "dinofeat/core.h"

#include <stdarg.h>
#include <stdio.h>

/* Records a failure message (without the public function's name) on this thread and returns
 * status, so a helper can `return dfi_error(DF_E_FORMAT, "...")`. */
df_status dfi_error(df_status status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
df_status dfi_verror(df_status status, const char *fmt, va_list args);

/* Every public function returns through this: on failure it prefixes the message recorded on this
 * thread with the function's name, so messages always say where they came from. */
df_status dfi_return(const char *function, df_status status);
#define DFI_RETURN(status) return dfi_return(__func__, (status))

/* Checks an argument and fails with DF_E_INVALID_ARG naming it. */
#define DFI_CHECK_ARG(cond, name)                                                            \
    do {                                                                                     \
        if (!(cond)) DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "invalid argument '%s'", name)); \
    } while (0)
#define DFI_CHECK_NOT_NULL(ptr) DFI_CHECK_ARG((ptr) != NULL, #ptr " is NULL")

/* Sends a diagnostic to the user's log callback, if any wants this level. */
void dfi_log(df_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Whether the caller set key in options (a workflow may then keep its own default). */
int dfi_option_is_set(const df_options *options, df_param key);
/* Reads an int option, falling back to the key's default when options is NULL. */
int64_t dfi_option_int(const df_options *options, df_param key);
/* Reads a float option likewise. */
double dfi_option_float(const df_options *options, df_param key);
/* Reads a string option likewise; borrowed from options or static. */
const char *dfi_option_str(const df_options *options, df_param key);

/* The offset of a centred crop `excess` pixels smaller than the image, as torchvision's CenterCrop
 * (the official evaluations' crop) computes it: Python's round(excess / 2), halves to even
 * (2.5 -> 2, 3.5 -> 4). The shim's dfs::centre_offset is the same. */
static inline size_t dfi_centre_offset(size_t excess) {
    const size_t half = excess / 2;
    return excess % 2 && half % 2 ? half + 1 : half;
}

/* Reads a whole regular file into *data (malloc'ed); errors name the path and what failed. */
df_status dfi_read_file(const char *path, unsigned char **data, size_t *size);
/* df_boxes_load of a VOC annotation without its difficult and truncated objects (LOST's
 * remove_hards). */
df_status dfi_voc_easy_boxes(const char *path, int32_t *boxes, size_t capacity, size_t *count);
/* splitmix64: a small seedable generator, the same stream on every platform. */
uint64_t dfi_splitmix64(uint64_t *state);
/* A uniform float in [0, 1) from the generator's top 24 bits. */
float dfi_uniform24(uint64_t *state);
/* Epoch e's order of items: Fisher-Yates from a generator seeded by seed and e alone, so a
 * resumed run finds the same order without replaying earlier epochs. */
void dfi_epoch_order(uint64_t seed, uint64_t epoch, size_t items, size_t *order);
/* A standard normal float by Box-Muller from two dfi_uniform24 draws. */
float dfi_normal(uint64_t *state);
/* The header of our container files in memory: 8 bytes of magic, u32 format version (1..newest),
 * u32 header length, the header. *header and *length get the header's place; DF_E_FORMAT naming
 * path and what the file should be, DF_E_UNSUPPORTED for a newer version. */
df_status dfi_container_header(const char *path, const unsigned char *data, size_t size, const char magic[8],
                               const char *what, uint32_t newest, const unsigned char **header, size_t *length);
/* Writes one of our container files atomically (a temporary file renamed over path): magic, u32
 * version, u32 header length, the header, what body writes (0 on success), the end marker. */
typedef int (*dfi_body_writer)(FILE *f, const void *user);
/* Writes what body writes (0 on success) with dfi_output_open / _commit: the complete new file or
 * the old one untouched, through symbolic links, in place for devices. */
df_status dfi_atomic_write(const char *path, dfi_body_writer body, const void *user);
/* A file being written (lib/output_file.c): a temporary beside path's real target, or the target
 * itself when that is not a regular file (in_place). */
typedef struct dfi_output {
    FILE *file;
    int in_place;
    char target[4096], temporary[4160];
} dfi_output;
df_status dfi_output_open(const char *path, dfi_output *out);
/* Flushes, syncs and closes out's file and renames it over the target, unless failed (the body's
 * writes failed, errno telling why) or any of that fails: then the temporary is removed and the
 * target left as it was. DF_E_IO naming path. */
df_status dfi_output_commit(dfi_output *out, const char *path, int failed);
df_status dfi_container_save(const char *path, const char magic[8], uint32_t version, const char *header,
                             size_t length, dfi_body_writer body, const void *user, const char end[8]);
/* Reads one of our container files: its JSON header is given to read with the body (what
 * follows the header, the end marker included). I/O, format and version errors name path. */
struct dfi_json;
typedef df_status (*dfi_container_reader)(const char *path, const struct dfi_json *header, const unsigned char *body,
                                          size_t size, void *user);
df_status dfi_container_load(const char *path, const char magic[8], const char *what, uint32_t newest,
                             dfi_container_reader read, void *user);
/* Data-parallel training (lib/distributed.c): DF_OK when every batch of items split by `batch`
 * gives each rank at least one item, else DF_E_INVALID_ARG saying so; and this rank's
 * contiguous share [*begin, *end) of a batch of count items. */
df_status dfi_distributed_check_shares(size_t items, size_t batch);
/* Every rank calls it with its status so far and values that must be the same on every rank
 * (names[i] says what values[i] is): DF_OK when all ranks are ready and agree, else
 * DF_E_INVALID_ARG naming the first difference from rank 0 (a rank whose own status is not DF_OK
 * gets DF_OK back and keeps its own error). DF_OK at once without a group. Training starts with
 * it: ranks resumed from different checkpoints, or given other settings, would drift apart
 * silently, and a rank that failed alone would leave the others waiting for the timeout. */
df_status dfi_distributed_agree(df_status status, const int64_t *values, const char *const *names, size_t count);
void dfi_distributed_share(size_t count, size_t *begin, size_t *end);
/* Scales each of n rows of x (n x d) to unit L2 norm, dividing by max(norm, 1e-12) as
 * torch.nn.functional.normalize does. */
void dfi_normalise_rows(float *x, size_t n, size_t d);
/* Overflow-checked size arithmetic: returns 0 and sets *out on success, -1 on overflow. */
int dfi_mul_size(size_t a, size_t b, size_t *out);

#endif
