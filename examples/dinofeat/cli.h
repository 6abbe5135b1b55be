/* Shared by the dinofeat command's verbs: exit codes, error reporting, progress. */
#ifndef DINOFEAT_CLI_H
#define DINOFEAT_CLI_H

#include "dinofeat/core.h"
#include "dinofeat/dataset.h"
#include "dinofeat/image.h"
#include "dinofeat/model.h"

#include <stdio.h>

enum {
    EXIT_OK = 0,
    EXIT_USAGE = 1,    /* bad command line */
    EXIT_INPUT = 2,    /* a file could not be read, decoded or written; a bad value */
    EXIT_INTERNAL = 3  /* out of memory, a bug */
};

/* A verb: its name, one line of summary, its entry point (argv[0] = verb) and its option rows
 * (rows.h), which its parsing and its help come from. */
struct cli_command;
typedef struct cli_verb {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
    const struct cli_command *command;
} cli_verb;

extern const cli_verb verb_info;
extern const cli_verb verb_features;
extern const cli_verb verb_upsample;
extern const cli_verb verb_segment;
extern const cli_verb verb_tokencut;
extern const cli_verb verb_eval;
extern const cli_verb verb_weak;
extern const cli_verb verb_datus;
extern const cli_verb verb_stego;
extern const cli_verb verb_sempart;
extern const cli_verb verb_neco;
extern const cli_verb verb_launch;
extern const cli_verb verb_paper;

/* Prints "dinofeat VERB: <library message>" to stderr and returns the exit code for status. */
int cli_fail(const char *verb, df_status status);
/* Prints "dinofeat VERB: message" and a hint to stderr, returns EXIT_USAGE. */
int cli_usage_error(const char *verb, const char *format, ...) __attribute__((format(printf, 2, 3)));
/* A whole number in lo..hi, the whole text (no sign games, no overflow); -1 otherwise. */
int cli_parse_long(const char *text, long lo, long hi, long *out);
/* path + suffix (new; NULL when out of memory). */
char *cli_suffixed(const char *path, const char *suffix);
/* Parses "WxH" (both 1..65535); 0, or -1 when malformed. */
int cli_parse_size(const char *text, long *width, long *height);
/* Writing a file so that a failure leaves the old file untouched and never a torn one:
 * cli_output_open opens a temporary beside path's real target (symbolic links are written
 * through), or the target itself when it is no regular file (a device, a FIFO); cli_output_commit
 * checks every write, flushes, syncs, closes and renames the temporary over the target, or removes
 * it. Both return NULL / -1 with errno set on failure. */
typedef struct cli_output {
    FILE *file;
    int in_place;
    char target[4096], temporary[4160];
} cli_output;
FILE *cli_output_open(const char *path, cli_output *out);
int cli_output_commit(cli_output *out);
/* size bytes as the whole file at path (as above); 0, or -1 with errno set. */
int cli_write_file(const char *path, const void *bytes, size_t size);

/* The exit code of a training df_*_train ended with status after steps steps: 0 for DF_OK; for a
 * cancellation, the loss log's failed write (write_error, an errno) or a stop signal (the trainer
 * saved its checkpoint before it returned; checkpoint NULL on ranks that write none); else the
 * library's failure. */
int cli_training_end(const char *verb, df_status status, int write_error, int64_t steps,
                     const char *checkpoint);

/* The image folder as a dataset with options (may be NULL), broken images left out
 * (dataset.skip_broken) and listed on stderr (rank 0); fails only when nothing can be decoded. The
 * one policy of every verb that reads a folder. */
df_status cli_open_dataset(const char *images, const char *labels, const df_options *options, const char *verb,
                           df_dataset **out);

/* Whether argv holds -h or --help before any "--". */
int cli_wants_help(int argc, char **argv);
/* The library parameters given with --set NAME=VALUE anywhere before "--" (main.c takes them out
 * of the arguments): cli_take_settings records them (a usage error for a bad one, exit code
 * returned), and every verb makes its options with cli_options_new, which starts from them; a
 * verb's own flags are set afterwards, so a flag (given or defaulted) decides its parameter. */
int cli_take_settings(int *argc, char **argv);
df_status cli_options_new(df_options **out);
/* The --set settings as given, in order (i < cli_setting_count()). */
int cli_setting_count(void);
const char *cli_setting_text(int i);
/* A setting for the rest of the run, as if given with --set before the user's own, which still
 * win (dinofeat paper: its protocol's dataset). */
df_status cli_default_setting(const char *text);
/* The --set settings again over options, after a verb's own defaults: the user's word wins. */
df_status cli_reapply_settings(df_options *options);
/* dinofeat params: every library parameter, its value (with --set), default, bounds and help. */
extern const cli_verb verb_params;
/* A monotonic clock in seconds, for durations. */
double cli_seconds_now(void);
/* dinofeat weak live (verb_weak_live.c), and the label-image loader the weak verbs share
 * (palette PNGs as their indices). */
int weak_live(int argc, char **argv);
df_status weak_load_labels(const char *path, df_image **out);

/* A df_progress_fn for long work: a redrawn bar on stderr when it is a terminal, otherwise one
 * plain line per step. user_data: a cli_progress. */
typedef struct cli_progress {
    const char *verb;
    int is_terminal;
    double started;
} cli_progress;
void cli_progress_init(cli_progress *progress, const char *verb);
int cli_progress_report(void *user_data, uint64_t done, uint64_t total, const char *stage);

#endif
