/* Status names, the thread-local last error message, and log routing. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

#define DFI_MESSAGE_CAPACITY 1024

static _Thread_local char last_message[DFI_MESSAGE_CAPACITY];

const char *df_status_str(df_status status) {
    switch (status) {
    case DF_OK: return "DF_OK";
    case DF_E_INVALID_ARG: return "DF_E_INVALID_ARG";
    case DF_E_OUT_OF_MEMORY: return "DF_E_OUT_OF_MEMORY";
    case DF_E_IO: return "DF_E_IO";
    case DF_E_FORMAT: return "DF_E_FORMAT";
    case DF_E_UNSUPPORTED: return "DF_E_UNSUPPORTED";
    case DF_E_CANCELLED: return "DF_E_CANCELLED";
    case DF_E_LIMIT: return "DF_E_LIMIT";
    case DF_E_INTERNAL: return "DF_E_INTERNAL";
    }
    return "DF_E_UNKNOWN";
}

const char *df_last_error_message(void) { return last_message; }

df_status dfi_verror(df_status status, const char *fmt, va_list args) {
    vsnprintf(last_message, sizeof last_message, fmt, args);
    return status;
}

df_status dfi_error(df_status status, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    dfi_verror(status, fmt, args);
    va_end(args);
    return status;
}

df_status dfi_return(const char *function, df_status status) {
    if (status == DF_OK) return status;
    size_t name_length = strlen(function);
    /* A nested public call already named itself; keep the outer name in front of it. */
    if (strncmp(last_message, function, name_length) == 0 && last_message[name_length] == ':')
        return status;
    if (last_message[0] == '\0') snprintf(last_message, sizeof last_message, "%s", df_status_str(status));
    /* Shift the message right to make room for "function: ", truncating its tail if needed. */
    size_t prefix = name_length + 2;
    if (prefix >= sizeof last_message) return status;
    size_t kept = strnlen(last_message, sizeof last_message - 1);
    if (kept > sizeof last_message - 1 - prefix) kept = sizeof last_message - 1 - prefix;
    memmove(last_message + prefix, last_message, kept);
    memcpy(last_message, function, name_length);
    last_message[name_length] = ':';
    last_message[name_length + 1] = ' ';
    last_message[prefix + kept] = '\0';
    return status;
}

/* Logging is process-wide and rarely reconfigured; relaxed atomics keep a concurrent reconfiguration
 * from tearing a read, while ordering between the three fields is not needed for correctness of
 * any single message. */
static df_log_fn _Atomic log_fn;
static void *_Atomic log_user_data;
static int _Atomic log_max_level;

df_status df_set_log_callback(df_log_fn fn, void *user_data, df_log_level max_level) {
    if (fn != NULL && (max_level < DF_LOG_ERROR || max_level > DF_LOG_DEBUG))
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "max_level %d is not a df_log_level", (int)max_level));
    log_fn = NULL;
    log_user_data = user_data;
    log_max_level = (int)max_level;
    log_fn = fn;
    return DF_OK;
}

void dfi_log(df_log_level level, const char *fmt, ...) {
    df_log_fn fn = log_fn;
    if (fn == NULL || (int)level > log_max_level) return;
    char message[DFI_MESSAGE_CAPACITY];
    va_list args;
    va_start(args, fmt);
    vsnprintf(message, sizeof message, fmt, args);
    va_end(args);
    fn(log_user_data, level, message);
}

int dfi_mul_size(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return -1;
    *out = a * b;
    return 0;
}
