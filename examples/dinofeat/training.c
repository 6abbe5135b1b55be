/* What the training verbs share (training.h). */
#include "training.h"
#include "plot.h"
#include "dinofeat/distributed.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void cli_training_bar_init(cli_training_bar *bar, int64_t first_step) {
    bar->is_terminal = isatty(STDERR_FILENO);
    bar->drawn = 0;
    bar->started = cli_seconds_now();
    bar->first_step = first_step;
}

/* "1h02m", "3m07s", "12s". */
static void duration_text(double seconds, char *text, size_t size) {
    const long s = (long)(seconds + 0.5);
    if (s >= 3600) snprintf(text, size, "%ldh%02ldm", s / 3600, s / 60 % 60);
    else if (s >= 60) snprintf(text, size, "%ldm%02lds", s / 60, s % 60);
    else snprintf(text, size, "%lds", s);
}

void cli_training_bar_draw(cli_training_bar *bar, int64_t step, int64_t total, double loss) {
    if (!bar->is_terminal || total <= 0) return;
    enum { WIDTH = 24 };
    char cells[WIDTH + 1], left[32] = "";
    const int filled = (int)((double)step / (double)total * WIDTH);
    for (int i = 0; i < WIDTH; i++) cells[i] = i < filled ? '#' : '.';
    cells[WIDTH] = '\0';
    const double elapsed = cli_seconds_now() - bar->started, taken = (double)(step - bar->first_step);
    const double rate = elapsed > 0 && taken > 0 ? taken / elapsed : 0;
    if (rate > 0 && step < total) duration_text((double)(total - step) / rate, left, sizeof left);
    fprintf(stderr, "\rstep %lld/%lld [%s] loss %.5f  %.2f steps/s%s%s%s\033[K", (long long)step, (long long)total,
            cells, loss, rate, left[0] ? "  " : "", left, left[0] ? " left" : "");
    fflush(stderr);
    bar->drawn = 1;
}

void cli_training_bar_clear(cli_training_bar *bar) {
    if (!bar->drawn) return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    bar->drawn = 0;
}

static volatile sig_atomic_t stop_signal = 0;

static void remember_stop(int signal_number) {
    stop_signal = signal_number;
    signal(signal_number, SIG_DFL); /* a second one ends the process at once */
}

void cli_catch_stop_signals(void) {
    struct sigaction action = {.sa_handler = remember_stop};
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
}

int cli_stop_signal(void) { return stop_signal; }

int cli_stopped(const char *verb, int64_t step, const char *checkpoint) {
    fprintf(stderr, "dinofeat %s: stopped by %s after step %lld; %s%s%srun the same command again to resume\n", verb,
            stop_signal == SIGINT ? "Ctrl-C (SIGINT)" : "SIGTERM", (long long)step, checkpoint ? "saved " : "",
            checkpoint ? checkpoint : "", checkpoint ? "; " : "");
    return 128 + stop_signal;
}

int cli_training_end(const char *verb, df_status status, int write_error, int64_t steps, const char *checkpoint) {
    if (status == DF_OK) return EXIT_OK;
    if (status == DF_E_CANCELLED && write_error) {
        fprintf(stderr, "dinofeat %s: the loss log: cannot write: %s (the training stopped; rerun to resume from the "
                        "last checkpoint)\n", verb, strerror(write_error));
        return EXIT_INPUT;
    }
    if (status == DF_E_CANCELLED && stop_signal) return cli_stopped(verb, steps, checkpoint);
    return cli_fail(verb, status);
}

df_status cli_build_cache(df_model *model, const df_dataset *dataset, const char *path, const char *verb) {
    cli_progress progress;
    cli_progress_init(&progress, verb);
    int rank = 0;
    df_distributed_rank(&rank, NULL);
    const df_status status = rank == 0 ? df_feature_cache_build(model, dataset, path, NULL, cli_progress_report, &progress) : DF_OK;
    const df_status built = df_distributed_barrier(); /* every rank, whatever rank 0's outcome */
    return status == DF_OK ? built : status;
}

FILE *cli_open_step_log(const char *csv, const char *header, int64_t steps) {
    FILE *old = fopen(csv, "r");
    char line[512];
    cli_output out;
    FILE *kept = cli_output_open(csv, &out);
    if (kept == NULL) {
        if (old) fclose(old);
        return NULL;
    }
    fprintf(kept, "%s\n", header);
    long long step;
    while (old && fgets(line, sizeof line, old))
        if (sscanf(line, "%lld,", &step) == 1 && step >= 1 && step <= steps) fputs(line, kept);
    if (old) fclose(old);
    return cli_output_commit(&out) == 0 ? fopen(csv, "a") : NULL;
}

int cli_step_log_open(cli_step_log *log, const char *csv, int64_t steps) {
    char header[512] = "step";
    const char *names[16];
    size_t count = 0;
    df_trainer_losses(log->trainer, NULL, names, 16, &count);
    if (log->per_epoch) strcat(header, ",epoch");
    for (size_t i = 0; i < count && i < 16 && strlen(header) + strlen(names[i]) + 2 < sizeof header; i++)
        strcat(header, ","), strcat(header, names[i]);
    log->csv = cli_open_step_log(csv, header, steps);
    return log->csv ? 0 : -1;
}

df_status cli_resume_on_device(df_trainer *trainer, const df_options *options, df_param key) {
    const char *device = "cpu";
    df_status status = df_options_get_str(options, key, &device);
    if (status == DF_OK && strcmp(device, "cpu") != 0) status = df_trainer_to(trainer, device);
    return status;
}

/* "total 0.5 (ncut 0.2, sr 0.1)": the shown loss, then the others. */
static void describe_losses(const char *shown, const char *const *names, const double *losses, size_t count,
                            char *text, size_t size) {
    size_t at = 0, first = 0;
    for (size_t i = 0; i < count; i++)
        if (strcmp(names[i], shown) == 0) first = i;
    at += (size_t)snprintf(text, size, "%s %.5f", names[first], losses[first]);
    for (size_t i = 0, others = 0; i < count && at < size; i++)
        if (i != first)
            at += (size_t)snprintf(text + at, size - at, "%s%s %.5f", others++ ? ", " : " (", names[i], losses[i]);
    if (count > 1 && at + 1 < size) text[at] = ')', text[at + 1] = '\0';
}

int cli_step_log_report(void *user_data, uint64_t done, uint64_t total, const char *stage) {
    cli_step_log *log = user_data;
    (void)stage;
    if (log->csv == NULL) return cli_stop_signal() != 0;
    double losses[16];
    const char *names[16];
    size_t count = 0, shown = 0;
    df_trainer_losses(log->trainer, losses, names, 16, &count);
    if (count > 16) count = 16;
    for (size_t i = 0; i < count; i++)
        if (strcmp(names[i], log->shown) == 0) shown = i;
    const uint64_t epoch = log->per_epoch ? (done - 1) / log->per_epoch + 1 : 0;
    fprintf(log->csv, "%llu", (unsigned long long)done);
    if (log->per_epoch) fprintf(log->csv, ",%llu", (unsigned long long)epoch);
    for (size_t i = 0; i < count; i++) fprintf(log->csv, ",%.9g", losses[i]);
    fputc('\n', log->csv);
    if (done % log->log_every == 0 || done == total) {
        char text[256];
        describe_losses(log->shown, names, losses, count, text, sizeof text);
        cli_training_bar_clear(&log->bar);
        char in_epoch[48] = "";
        if (log->per_epoch) snprintf(in_epoch, sizeof in_epoch, " (epoch %llu)", (unsigned long long)epoch);
        printf("step %llu/%llu%s: %s\n", (unsigned long long)done, (unsigned long long)total, in_epoch, text);
        fflush(stdout);
        if (fflush(log->csv) != 0 || ferror(log->csv)) {
            log->write_error = errno ? errno : EIO;
            return 1;
        }
    }
    if (done < total) cli_training_bar_draw(&log->bar, (int64_t)done, (int64_t)total, losses[shown]);
    else cli_training_bar_clear(&log->bar);
    return cli_stop_signal() != 0; /* stops after this step: the trainer saves */
}

int cli_close_step_log(const char *verb, int code, FILE *log, const char *csv, const char *png,
                       const char *const *curves, size_t curve_count) {
    if (log && fclose(log) != 0 && code == EXIT_OK) {
        fprintf(stderr, "dinofeat %s: %s: cannot write: %s\n", verb, csv, strerror(errno));
        code = EXIT_INPUT;
    }
    if (log && code == EXIT_OK && cli_plot_csv(csv, png, verb, "step", curves, curve_count) != 0)
        fprintf(stderr, "dinofeat %s: no loss curves in %s\n", verb, png);
    return code;
}
