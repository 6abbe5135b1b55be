/* What the training verbs (stego, sempart, neco) share: the per-step loss log, the progress bar,
 * checkpoints on a stop signal, the feature cache and the ending. */
#ifndef DINOFEAT_CLI_TRAINING_H
#define DINOFEAT_CLI_TRAINING_H

#include "cli.h"
#include "dinofeat/cache.h"
#include "dinofeat/dataset.h"
#include "dinofeat/model.h"
#include "dinofeat/trainer.h"

#include <stdint.h>
#include <stdio.h>

/* What the training verbs (stego, sempart, neco) promise about bad images, signals and exit codes. */
#define CLI_TRAINING_EPILOGUE                                                                             \
    "Images that cannot be decoded are left out and listed. Ctrl-C or SIGTERM during training ends\n"     \
    "the step under way, saves the checkpoint and exits with 130 or 143: run the same command to\n"       \
    "resume.\n"                                                                                           \
    "Exit status: 0 ok, 1 usage, 2 input error, 3 internal, 130/143 stopped by a signal (saved).\n"

/* A training's per-step CSV opened for appending: the rows of steps 1..steps kept (a killed run
 * logged steps that the resumed one does again), header (without newline) written first; NULL
 * with errno set on failure. */
FILE *cli_open_step_log(const char *csv, const char *header, int64_t steps);

/* dataset's feature cache at path, built or completed by rank 0 while the other ranks of a
 * data-parallel training wait for it (progress on stderr, as verb). */
df_status cli_build_cache(df_model *model, const df_dataset *dataset, const char *path, const char *verb);

/* Ctrl-C and SIGTERM during a training: cli_catch_stop_signals makes the first one only set a flag
 * (a second one kills as usual); a training checks cli_stop_signal() after each step and, when it
 * is set, saves its checkpoint and ends with cli_stopped(), which says so and returns the exit
 * code 128 + the signal (130 for Ctrl-C, 143 for SIGTERM), as a shell reports a killed command. */
void cli_catch_stop_signals(void);
int cli_stop_signal(void);
int cli_stopped(const char *verb, int64_t step, const char *checkpoint);

/* A training's progress on a terminal: a bar on stderr, redrawn every step, with the step, the
 * loss, the rate and the time left. Nothing when stderr is no terminal, where the lines printed
 * every --log-every steps are the log. cli_training_bar_clear erases the bar before such a line
 * (and at the end). */
typedef struct cli_training_bar {
    int is_terminal, drawn;
    double started;
    int64_t first_step;
} cli_training_bar;
void cli_training_bar_init(cli_training_bar *bar, int64_t first_step);
void cli_training_bar_draw(cli_training_bar *bar, int64_t step, int64_t total, double loss);
void cli_training_bar_clear(cli_training_bar *bar);

/* A training's log: each step's losses (df_trainer_losses) as a CSV row "step,epoch,losses..."
 * (without the epoch where per_epoch is 0: STEGO draws its batches), a line on stdout every
 * log_every steps and at the end ("step D/T (epoch E): total 0.5 (ncut 0.2, ...)", the shown loss
 * first), the bar in between. cli_step_log_open opens the CSV on rank 0 (the columns from the
 * trainer's loss names; rows past steps dropped, as cli_open_step_log), returning 0 or -1 with
 * errno set; cli_step_log_report is the trainer's df_progress_fn (user_data: the log). A failed
 * write of the CSV stops the training (write_error: its errno), as does a stop signal after the
 * step; the trainer then saves its checkpoint. Off rank 0 (csv NULL) it only watches for the
 * signal. */
typedef struct cli_step_log {
    FILE *csv;
    uint64_t per_epoch, log_every;
    const df_trainer *trainer;
    const char *shown; /* the loss the bar shows and the line starts with */
    int write_error;
    cli_training_bar bar;
} cli_step_log;
int cli_step_log_open(cli_step_log *log, const char *csv, int64_t steps);
/* A resumed trainer (loaded on the CPU) moved to where the setting `key` of options (stego.device,
 * sempart.device: --set) puts new ones. */
df_status cli_resume_on_device(df_trainer *trainer, const df_options *options, df_param key);
int cli_step_log_report(void *user_data, uint64_t done, uint64_t total, const char *stage);

/* Closes a training's CSV log (NULL: none) and, when code is EXIT_OK, draws its curves (the CSV's
 * columns curves, against "step") into png; returns code, or EXIT_INPUT when the log cannot be
 * written. A curve that cannot be drawn is only said. */
int cli_close_step_log(const char *verb, int code, FILE *log, const char *csv, const char *png,
                       const char *const *curves, size_t curve_count);

#endif
