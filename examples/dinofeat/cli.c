/* Error reporting, exit codes and progress for the dinofeat command. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int cli_fail(const char *verb, df_status status) {
    fprintf(stderr, "dinofeat %s: %s\n", verb, df_last_error_message());
    switch (status) {
    case DF_OK: return EXIT_OK;
    case DF_E_OUT_OF_MEMORY:
    case DF_E_INTERNAL: return EXIT_INTERNAL;
    default: return EXIT_INPUT;
    }
}

int cli_usage_error(const char *verb, const char *format, ...) {
    va_list args;
    va_start(args, format);
    fprintf(stderr, "dinofeat %s: ", verb);
    vfprintf(stderr, format, args);
    fprintf(stderr, "\nTry 'dinofeat %s --help'.\n", verb);
    va_end(args);
    return EXIT_USAGE;
}

int cli_wants_help(int argc, char **argv) {
    /* "--" ends the options: what follows is another command's (dinofeat launch -- CMD --help) */
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return 1;
    return 0;
}

static double seconds_now(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + now.tv_nsec * 1e-9;
}

void cli_progress_init(cli_progress *progress, const char *verb) {
    progress->verb = verb;
    progress->is_terminal = isatty(STDERR_FILENO);
    progress->started = seconds_now();
}

int cli_progress_report(void *user_data, uint64_t done, uint64_t total, const char *stage) {
    cli_progress *progress = user_data;
    double elapsed = seconds_now() - progress->started;
    double fraction = total ? (double)done / (double)total : 1.0;
    if (!progress->is_terminal) {
        /* Logs of thousands of steps stay readable: about twenty lines, and always the last. */
        uint64_t every = total > 100 ? total / 20 : 1;
        if (done != total && done % every != 0) return 0;
        fprintf(stderr, "dinofeat %s: %s %llu/%llu (%.1f s)\n", progress->verb, stage ? stage : "",
                (unsigned long long)done, (unsigned long long)total, elapsed);
        return 0;
    }
    enum { WIDTH = 30 };
    char bar[WIDTH + 1];
    int filled = (int)(fraction * WIDTH);
    for (int i = 0; i < WIDTH; i++) bar[i] = i < filled ? '#' : '.';
    bar[WIDTH] = '\0';
    double remaining = done && done < total ? elapsed / (double)done * (double)(total - done) : 0.0;
    fprintf(stderr, "\r%s [%s] %llu/%llu %3.0f%% %.0fs left \033[K", stage ? stage : "", bar,
            (unsigned long long)done, (unsigned long long)total, fraction * 100.0, remaining);
    if (done >= total) fputc('\n', stderr);
    fflush(stderr);
    return 0;
}

int cli_parse_size(const char *text, long *width, long *height) {
    char *end;
    *width = strtol(text, &end, 10);
    if (*end != 'x' && *end != 'X') return -1;
    *height = strtol(end + 1, &end, 10);
    return *end == '\0' && *width > 0 && *height > 0 && *width <= 65535 && *height <= 65535 ? 0 : -1;
}

FILE *cli_create_temporary(const char *path, char *temporary, size_t size) {
    snprintf(temporary, size, "%s.tmp", path);
    return fopen(temporary, "w");
}

int cli_commit_temporary(FILE *file, const char *temporary, const char *path) {
    int failed = ferror(file);
    failed |= fclose(file) != 0;
    if (!failed && rename(temporary, path) == 0) return 0;
    int saved = errno;
    remove(temporary);
    errno = saved ? saved : EIO;
    return -1;
}

int cli_parse_long(const char *text, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    const long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int cli_parse_number(const cli_number *numbers, size_t count, int option, const char *value, void *request,
                     const char *verb) {
    for (size_t n = 0; n < count; n++) {
        if (numbers[n].option != option) continue;
        if (cli_parse_long(value, numbers[n].lo, numbers[n].hi, (long *)((char *)request + numbers[n].offset)) == 0) return 1;
        cli_usage_error(verb, "%s takes a whole number %ld..%ld, not '%s'", numbers[n].name, numbers[n].lo, numbers[n].hi,
                        value);
        return -1;
    }
    return 0;
}

char *cli_suffixed(const char *path, const char *suffix) {
    const size_t n = strlen(path) + strlen(suffix) + 1;
    char *out = malloc(n);
    if (out) snprintf(out, n, "%s%s", path, suffix);
    return out;
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
    char temporary[4096], line[512];
    FILE *kept = cli_create_temporary(csv, temporary, sizeof temporary);
    if (kept == NULL) {
        if (old) fclose(old);
        return NULL;
    }
    fprintf(kept, "%s\n", header);
    long long step;
    while (old && fgets(line, sizeof line, old))
        if (sscanf(line, "%lld,", &step) == 1 && step >= 1 && step <= steps) fputs(line, kept);
    if (old) fclose(old);
    return cli_commit_temporary(kept, temporary, csv) == 0 ? fopen(csv, "a") : NULL;
}
