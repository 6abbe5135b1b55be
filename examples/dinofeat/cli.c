/* Error reporting, exit codes and progress for the dinofeat command. */
#include "cli.h"
#include "dinofeat/cache.h"
#include "dinofeat/distributed.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

double cli_seconds_now(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + now.tv_nsec * 1e-9;
}

void cli_progress_init(cli_progress *progress, const char *verb) {
    progress->verb = verb;
    progress->is_terminal = isatty(STDERR_FILENO);
    progress->started = cli_seconds_now();
}

int cli_progress_report(void *user_data, uint64_t done, uint64_t total, const char *stage) {
    cli_progress *progress = user_data;
    double elapsed = cli_seconds_now() - progress->started;
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

/* Follows the symbolic links of path's last component to the file they name (which may not exist
 * yet); -1 with errno on a loop or a name too long. */
static int follow_links(const char *path, char *target, size_t size) {
    if (snprintf(target, size, "%s", path) >= (int)size) return errno = ENAMETOOLONG, -1;
    for (int hops = 0; hops < 40; hops++) {
        struct stat info;
        if (lstat(target, &info) != 0 || !S_ISLNK(info.st_mode)) return 0;
        char link[4096];
        const ssize_t n = readlink(target, link, sizeof link - 1);
        if (n < 0) return -1;
        link[n] = '\0';
        char *slash = strrchr(target, '/');
        const size_t keep = link[0] == '/' || slash == NULL ? 0 : (size_t)(slash - target) + 1;
        if (keep + (size_t)n >= size) return errno = ENAMETOOLONG, -1;
        memcpy(target + keep, link, (size_t)n + 1);
    }
    return errno = ELOOP, -1;
}

FILE *cli_output_open(const char *path, cli_output *out) {
    memset(out, 0, sizeof *out);
    /* a pipe or terminal behind a link (/dev/stdout -> /proc/self/fd/1 -> "pipe:[...]") has no
       path to follow to: it is written through the name given */
    struct stat reached;
    if (stat(path, &reached) == 0 && !S_ISREG(reached.st_mode) && !S_ISDIR(reached.st_mode)) {
        if (snprintf(out->target, sizeof out->target, "%s", path) >= (int)sizeof out->target) return errno = ENAMETOOLONG, NULL;
        out->in_place = 1;
        return out->file = fopen(path, "w");
    }
    if (follow_links(path, out->target, sizeof out->target) != 0) return NULL;
    struct stat info;
    const int exists = stat(out->target, &info) == 0;
    if (exists && !S_ISREG(info.st_mode)) {
        if (S_ISDIR(info.st_mode)) return errno = EISDIR, NULL;
        out->in_place = 1;
        return out->file = fopen(out->target, "w");
    }
    snprintf(out->temporary, sizeof out->temporary, "%s.tmp%ld", out->target, (long)getpid());
    const int fd = open(out->temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) return NULL;
    if (exists) (void)fchmod(fd, info.st_mode & 07777); /* a replaced file keeps its permissions */
    if ((out->file = fdopen(fd, "w")) == NULL) {
        const int saved = errno;
        close(fd), unlink(out->temporary);
        errno = saved;
    }
    return out->file;
}

int cli_output_commit(cli_output *out) {
    int failed = ferror(out->file) || fflush(out->file) != 0;
    int saved = failed ? (errno ? errno : EIO) : 0;
    if (!failed && !out->in_place && fsync(fileno(out->file)) != 0) failed = 1, saved = errno;
    if (fclose(out->file) != 0 && !failed) failed = 1, saved = errno ? errno : EIO;
    out->file = NULL;
    if (!failed && !out->in_place && rename(out->temporary, out->target) != 0) failed = 1, saved = errno;
    if (!failed) return 0;
    if (!out->in_place) unlink(out->temporary);
    errno = saved;
    return -1;
}

int cli_write_file(const char *path, const void *bytes, size_t size) {
    cli_output out;
    if (cli_output_open(path, &out) == NULL) return -1;
    if (size && fwrite(bytes, 1, size, out.file) != size) {
        const int saved = errno ? errno : EIO;
        fclose(out.file);
        if (!out.in_place) unlink(out.temporary);
        errno = saved;
        return -1;
    }
    return cli_output_commit(&out);
}

df_status cli_open_dataset(const char *images, const char *labels, const df_options *options, const char *verb,
                           df_dataset **out) {
    df_options *o = NULL;
    df_status status = options ? df_options_copy(options, &o) : df_options_new(&o);
    if (status == DF_OK) status = df_options_set_int(o, DF_PARAM_DATASET_SKIP_BROKEN, 1);
    if (status == DF_OK) status = df_dataset_open(images, labels, o, out);
    df_options_free(o);
    size_t skipped = 0;
    int rank = 0;
    df_distributed_rank(&rank, NULL);
    if (status == DF_OK) df_dataset_skipped(*out, 0, &skipped, NULL, NULL);
    if (skipped && rank == 0)
        fprintf(stderr, "dinofeat %s: %zu image%s under %s cannot be decoded and %s left out:\n", verb, skipped,
                skipped == 1 ? "" : "s", images, skipped == 1 ? "is" : "are");
    for (size_t i = 0; rank == 0 && i < skipped; i++) {
        const char *name = NULL, *reason = NULL;
        df_dataset_skipped(*out, i, NULL, &name, &reason);
        fprintf(stderr, "  %s: %s\n", name, reason);
    }
    return status;
}

int cli_parse_long(const char *text, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    const long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

char *cli_suffixed(const char *path, const char *suffix) {
    const size_t n = strlen(path) + strlen(suffix) + 1;
    char *out = malloc(n);
    if (out) snprintf(out, n, "%s%s", path, suffix);
    return out;
}

static df_options *settings; /* --set NAME=VALUE, for the whole run */
static const char *setting_texts[256]; /* the same, as given: argv outlives the run */
static int setting_count;

int cli_take_settings(int *argc, char **argv) {
    int kept = 1;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--") == 0) { /* what follows is another command's */
            while (i < *argc) argv[kept++] = argv[i++];
            break;
        }
        const char *setting = strncmp(argv[i], "--set=", 6) == 0 ? argv[i] + 6 : NULL;
        if (strcmp(argv[i], "--set") == 0) {
            if (i + 1 == *argc) return cli_usage_error(argv[0], "--set needs NAME=VALUE");
            setting = argv[++i];
        }
        if (setting == NULL) {
            argv[kept++] = argv[i];
            continue;
        }
        if (settings == NULL && df_options_new(&settings) != DF_OK) return cli_fail(argv[0], DF_E_OUT_OF_MEMORY);
        if (df_options_set_from_string(settings, setting) != DF_OK) {
            const char *message = df_last_error_message();
            while (strncmp(message, "df_", 3) == 0 && strstr(message, ": ")) message = strstr(message, ": ") + 2;
            return cli_usage_error(argv[0], "--set %s: %s", setting, message);
        }
        if (setting_count == (int)(sizeof setting_texts / sizeof setting_texts[0]))
            return cli_usage_error(argv[0], "more than %d --set", setting_count);
        setting_texts[setting_count++] = setting;
    }
    *argc = kept;
    argv[kept] = NULL;
    return EXIT_OK;
}

df_status cli_options_new(df_options **out) {
    return settings ? df_options_copy(settings, out) : df_options_new(out);
}

int cli_setting_count(void) { return setting_count; }

const char *cli_setting_text(int i) { return i >= 0 && i < setting_count ? setting_texts[i] : NULL; }

df_status cli_default_setting(const char *text) {
    if (settings == NULL && df_options_new(&settings) != DF_OK) return DF_E_OUT_OF_MEMORY;
    df_status status = df_options_set_from_string(settings, text);
    return status == DF_OK ? cli_reapply_settings(settings) : status;
}

df_status cli_reapply_settings(df_options *options) {
    df_status status = DF_OK;
    for (int i = 0; status == DF_OK && i < setting_count; i++) status = df_options_set_from_string(options, setting_texts[i]);
    return status;
}
