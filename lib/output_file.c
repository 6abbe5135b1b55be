/* Writing a file so that a failure (a full disk, a killed process) leaves the complete old file or
 * the complete new one, never a torn one: the bytes go to a temporary beside the target, are
 * flushed and synced, and renamed over it. The target is where path really leads: a symbolic link
 * is written through (the link stays, its target is replaced), and a target that is not a regular
 * file (a device such as /dev/null, a FIFO) is written in place, since nothing can be renamed over
 * it. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* path with every symbolic link along its last component followed; the final target may not
 * exist yet (a dangling link names the file to create). */
static df_status resolve_target(const char *path, char *out, size_t size) {
    if (strlen(path) >= size) return dfi_error(DF_E_INVALID_ARG, "%s: the path is too long", path);
    strcpy(out, path);
    for (int hops = 0; hops < 40; hops++) {
        struct stat info;
        if (lstat(out, &info) != 0 || !S_ISLNK(info.st_mode)) return DF_OK;
        char link[PATH_MAX];
        const ssize_t n = readlink(out, link, sizeof link - 1);
        if (n < 0) return dfi_error(DF_E_IO, "%s: cannot read the link: %s", out, strerror(errno));
        link[n] = '\0';
        const char *slash = strrchr(out, '/');
        if (link[0] == '/' || slash == NULL) {
            if ((size_t)n >= size) return dfi_error(DF_E_INVALID_ARG, "%s: the link's target is too long", path);
            memcpy(out, link, (size_t)n + 1);
        } else { /* relative to the link's folder */
            const size_t folder = (size_t)(slash - out) + 1;
            if (folder + (size_t)n >= size) return dfi_error(DF_E_INVALID_ARG, "%s: the link's target is too long", path);
            memcpy(out + folder, link, (size_t)n + 1);
        }
    }
    return dfi_error(DF_E_IO, "%s: too many levels of symbolic links", path);
}

df_status dfi_output_open(const char *path, dfi_output *out) {
    memset(out, 0, sizeof *out);
    df_status status = resolve_target(path, out->target, sizeof out->target);
    if (status != DF_OK) return status;
    struct stat info;
    const int exists = stat(out->target, &info) == 0;
    if (exists && !S_ISREG(info.st_mode)) {
        if (S_ISDIR(info.st_mode)) return dfi_error(DF_E_IO, "%s: is a folder", path);
        out->in_place = 1;
        out->file = fopen(out->target, "wb");
        return out->file ? DF_OK : dfi_error(DF_E_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    static unsigned counter; /* unique among this process's threads' files, with the pid among processes */
    const unsigned serial = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
    if (snprintf(out->temporary, sizeof out->temporary, "%s.tmp%ld.%u", out->target, (long)getpid(), serial) >=
        (int)sizeof out->temporary)
        return dfi_error(DF_E_INVALID_ARG, "%s: the path is too long", path);
    const int fd = open(out->temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666); /* the umask applies */
    if (fd < 0) return dfi_error(DF_E_IO, "%s: cannot create a file beside it: %s", path, strerror(errno));
    if (exists) (void)fchmod(fd, info.st_mode & 07777); /* a replaced file keeps its permissions */
    out->file = fdopen(fd, "wb");
    if (out->file == NULL) {
        const int saved = errno;
        close(fd);
        unlink(out->temporary);
        return dfi_error(DF_E_IO, "%s: %s", path, strerror(saved));
    }
    return DF_OK;
}

df_status dfi_output_commit(dfi_output *out, const char *path, int failed) {
    int saved = failed ? (errno ? errno : EIO) : 0;
    if (!failed && (ferror(out->file) || fflush(out->file) != 0)) failed = 1, saved = errno ? errno : EIO;
    /* a regular file's bytes reach the disk before the rename makes them the file */
    if (!failed && !out->in_place && fsync(fileno(out->file)) != 0) failed = 1, saved = errno;
    if (fclose(out->file) != 0 && !failed) failed = 1, saved = errno ? errno : EIO;
    out->file = NULL;
    if (!failed && !out->in_place && rename(out->temporary, out->target) != 0) failed = 1, saved = errno;
    if (failed && !out->in_place) unlink(out->temporary);
    return failed ? dfi_error(DF_E_IO, "%s: cannot write: %s", path, strerror(saved)) : DF_OK;
}

df_status dfi_atomic_write(const char *path, dfi_body_writer body, const void *user) {
    dfi_output out;
    df_status status = dfi_output_open(path, &out);
    if (status != DF_OK) return status;
    errno = 0;
    return dfi_output_commit(&out, path, body(out.file, user) != 0);
}
