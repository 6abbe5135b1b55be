/* dinofeat params: the library's parameters as the library describes them (df_param_*), with the
 * values --set gives them: what `--set NAME=VALUE` can reach in every verb. */
#include "cli.h"
#include "rows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const usages[] = {"[--set NAME=VALUE ...] [--names] [NAME ...]", NULL};

static const char description[] =
    "Lists the library's parameters (all, or the NAMEs given): each one's value with the --set\n"
    "settings applied, its type, default, range or value names, and what it does. Every verb takes\n"
    "--set NAME=VALUE for any of them (repeatable; an int parameter also takes its value names);\n"
    "where a verb has a flag of its own for a parameter (--seed, --clusters, ...), the flag decides it.\n";

typedef struct request {
    int names_only;
} request;

static const cli_row rows[] = {
    ROW_SWITCH("names", names_only, "only the names, one per line"),
};

static const cli_command params_command = {
    .verb = "params", .usages = usages, .description = description, .rows = rows,
    .row_count = sizeof rows / sizeof rows[0],
    .epilogue = "--set NAME=VALUE sets a parameter first, as in every verb.\n"
                "Exit status: 0 ok, 1 usage (an unknown name).\n",
    .request_size = sizeof(request), .operands = "NAME ..."};

/* "5", "o (1)", "1e-05", "\"1,2\"": a value of key as text. */
static void value_text(df_param key, df_param_type type, const df_options *o, char *text, size_t size) {
    const char *string = "";
    int64_t value = 0;
    if (type == DF_PARAM_TYPE_STRING) {
        df_options_get_str(o, key, &string);
        snprintf(text, size, "\"%s\"", string);
        return;
    }
    cli_param_text(o, key, text, size);
    if (type == DF_PARAM_TYPE_INT && df_options_get_int(o, key, &value) == DF_OK && df_param_value_name(key, value)) {
        const size_t used = strlen(text);
        snprintf(text + used, size - used, " (%lld)", (long long)value);
    }
}

/* "0 .. 10", or the value names. */
static void range_text(df_param key, df_param_type type, char *text, size_t size) {
    double lower = 0, upper = 0;
    text[0] = 0;
    if (type == DF_PARAM_TYPE_STRING || df_param_bounds(key, &lower, &upper) != DF_OK) return;
    size_t used = 0;
    for (int64_t v = (int64_t)lower; type == DF_PARAM_TYPE_INT && v <= (int64_t)upper && v - (int64_t)lower < 64; v++) {
        const char *name = df_param_value_name(key, v);
        if (name && used < size) used += (size_t)snprintf(text + used, size - used, "%s%s", used ? ", " : "", name);
    }
    if (used == 0) {
        char low[32], high[32];
        cli_shortest_number(lower, low, sizeof low), cli_shortest_number(upper, high, sizeof high);
        snprintf(text, size, "%s .. %s", low, high);
    }
}

static void describe(df_param key, const df_options *o, df_options *fresh) {
    df_param_type type = DF_PARAM_TYPE_INT;
    df_param_type_of(key, &type);
    char value[256], initial[256], range[512];
    value_text(key, type, o, value, sizeof value);
    value_text(key, type, fresh, initial, sizeof initial);
    range_text(key, type, range, sizeof range);
    static const char *const types[] = {"", "int", "float", "string"};
    printf("%s = %s\n    %s; default %s%s%s\n    %s\n", df_param_name(key), value, types[type], initial,
           range[0] ? "; " : "", range, df_param_help(key));
}

static int run(int argc, char **argv) {
    request r;
    int code = cli_rows_parse(&params_command, -1, argc, argv, &r, NULL);
    const int names_only = r.names_only, first = cli_rows_first_operand();
    df_options *o = NULL, *fresh = NULL;
    if (code == EXIT_OK && (cli_options_new(&o) != DF_OK || df_options_new(&fresh) != DF_OK))
        code = cli_fail("params", DF_E_OUT_OF_MEMORY);
    int listed = 0;
    for (int i = first; code == EXIT_OK && i < argc; i++) {
        df_param key;
        if (df_param_from_name(argv[i], &key) != DF_OK) code = cli_usage_error("params", "unknown parameter '%s'", argv[i]);
    }
    for (int i = first; code == EXIT_OK && i < argc; i++) {
        df_param key;
        df_param_from_name(argv[i], &key);
        if (names_only) printf("%s\n", argv[i]);
        else describe(key, o, fresh);
        listed++;
    }
    for (size_t i = 0; code == EXIT_OK && listed == 0 && i < df_param_count(); i++) {
        df_param key;
        df_param_at(i, &key);
        if (names_only) printf("%s\n", df_param_name(key));
        else describe(key, o, fresh);
    }
    df_options_free(o);
    df_options_free(fresh);
    return code;
}

const cli_verb verb_params = {"params", "the library's parameters: values, defaults, ranges, help (--set)", run,
                             &params_command};
