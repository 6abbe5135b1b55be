/* A verb's options as rows, one per flag (git's OPT_* and zstd's parameter table are the models):
 * parsing, checking and --help all come from the same rows, and a row that sets a library
 * parameter takes its bounds, value names and default from the library, so none can drift. */
#ifndef DINOFEAT_CLI_ROWS_H
#define DINOFEAT_CLI_ROWS_H

#include "dinofeat/core.h"

#include <stddef.h>

typedef enum cli_row_kind {
    CLI_ROW_STRING, /* const char * at offset: the value as given */
    CLI_ROW_LONG,   /* long at offset, a whole number in lo..hi */
    CLI_ROW_DOUBLE, /* double at offset, a number in lo..hi */
    CLI_ROW_SWITCH, /* int at offset set to lo; no value */
    CLI_ROW_SIZE,   /* "WxH": longs at offset (width) and offset2 (height) */
    CLI_ROW_CHOICE, /* int at offset: the index of the value in choices ("a|b|c") */
    CLI_ROW_PARAM,  /* library parameter param: the value as df_options_set_from_string takes it
                       (a number or a value name); with CLI_ROW_OPTIONAL_VALUE, fixed when absent */
    CLI_ROW_PARAM_FIXED, /* library parameter param set to fixed; no value */
    CLI_ROW_STRINGS      /* repeatable: const char ** at offset (allocated by the parse, freed by the
                            verb), size_t count at offset2 */
} cli_row_kind;

enum {
    CLI_ROW_REQUIRED = 1,       /* the verb (or subverb) cannot run without it */
    CLI_ROW_OPTIONAL_VALUE = 2, /* --name or --name=VALUE */
    CLI_ROW_MARK_GIVEN = 4,     /* also sets the int at offset2 to 1 when given */
    CLI_ROW_NO_DEFAULT = 8      /* help prints no default for it */
};

typedef struct cli_row {
    const char *name;       /* the long name, without "--" */
    cli_row_kind kind;
    const char *value_name; /* FILE, DIR, N, ... in the help; NULL when it takes none */
    const char *help;       /* may hold '\n' for further lines */
    size_t offset, offset2; /* into the verb's request */
    df_param param;
    double lo, hi;
    const char *fixed;      /* CLI_ROW_PARAM_FIXED's value, CLI_ROW_CHOICE's "a|b|c" */
    unsigned where;         /* subverbs it applies to (bit i: subverbs[i]); 0 = every one */
    unsigned flags;
} cli_row;

/* A row leaves where and flags out when it has none: they are zero, as C says of every member an
 * initialiser leaves out; the warning that a member was forgotten would only be noise here. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/* Rows for a request type named `request` in the verb's file; after the help, optionally the
 * subverbs it applies to and its flags: ROW_LONG("k", "K", k, 1, 100, "neighbours", 1u << 0, CLI_ROW_REQUIRED). */
#define ROW_STRING(name, value, field, help, ...) \
    {name, CLI_ROW_STRING, value, help, offsetof(request, field), 0, 0, 0, 0, NULL, __VA_ARGS__}
#define ROW_LONG(name, value, field, lo, hi, help, ...) \
    {name, CLI_ROW_LONG, value, help, offsetof(request, field), 0, 0, lo, hi, NULL, __VA_ARGS__}
#define ROW_DOUBLE(name, value, field, lo, hi, help, ...) \
    {name, CLI_ROW_DOUBLE, value, help, offsetof(request, field), 0, 0, lo, hi, NULL, __VA_ARGS__}
#define ROW_SWITCH(name, field, help, ...) \
    {name, CLI_ROW_SWITCH, NULL, help, offsetof(request, field), 0, 0, 1, 1, NULL, __VA_ARGS__}
#define ROW_SIZE(name, width, height, help, ...) \
    {name, CLI_ROW_SIZE, "WxH", help, offsetof(request, width), offsetof(request, height), 0, 0, 0, NULL, __VA_ARGS__}
#define ROW_CHOICE(name, value, field, choices, help, ...) \
    {name, CLI_ROW_CHOICE, value, help, offsetof(request, field), 0, 0, 0, 0, choices, __VA_ARGS__}
#define ROW_STRINGS(name, value, field, count, help, ...) \
    {name, CLI_ROW_STRINGS, value, help, offsetof(request, field), offsetof(request, count), 0, 0, 0, NULL, __VA_ARGS__}
#define ROW_PARAM(name, value, key, help, ...) {name, CLI_ROW_PARAM, value, help, 0, 0, key, 0, 0, NULL, __VA_ARGS__}
#define ROW_PARAM_OPTIONAL(name, value, key, absent, help) \
    {name, CLI_ROW_PARAM, value, help, 0, 0, key, 0, 0, absent, 0, CLI_ROW_OPTIONAL_VALUE}
#define ROW_PARAM_FIXED(name, key, fixed, help, ...) \
    {name, CLI_ROW_PARAM_FIXED, NULL, help, 0, 0, key, 0, 0, fixed, __VA_ARGS__}

typedef struct cli_command {
    const char *verb;
    const char *const *subverbs;    /* NULL-terminated; NULL when the verb has none */
    const char *const *usages;      /* per subverb (or one): what follows "dinofeat VERB " */
    const char *const *summaries;   /* per subverb (or one): the paragraph under the usage */
    const char *description;        /* the verb's paragraph (printed with every help) */
    const cli_row *rows;
    size_t row_count;
    const char *epilogue;           /* after the options: notes, exit status */
    const char *operands;           /* what may follow the options ("-- COMMAND", "NAME ..."); NULL:
                                       nothing. Options then end at the first operand. */
    size_t request_size;
    /* The request's defaults (may be NULL: all zero). */
    void (*init)(void *request);
    /* The verb's own library defaults over a fresh options (may be NULL). */
    df_status (*defaults)(df_options *options, unsigned where);
} cli_command;

/* The index of subverb name in command (or -1). */
int cli_subverb_index(const cli_command *command, const char *name);
/* Prints the help of command (of subverb index `subverb`, or of the whole verb when -1) to
 * stdout: usage, description, the rows that apply with their defaults, epilogue. */
void cli_rows_help(const cli_command *command, int subverb);
/* Initialises request (command->init) and options' verb defaults, then parses argv (argv[0]: the
 * verb or subverb) by the rows that apply to subverb (-1: every row): values into request and
 * options. EXIT_OK, or a usage error printed and its exit code (a missing required row, an
 * unknown flag, a bad value, an unexpected argument). options may be NULL when no row sets a
 * parameter. */
int cli_rows_parse(const cli_command *command, int subverb, int argc, char **argv, void *request, df_options *options);
/* The index in argv of the first operand of the last cli_rows_parse (argc when none). */
int cli_rows_first_operand(void);
/* For a verb's main: the help of argv (subverb from argv[1] when there is one). */
void cli_rows_help_for(const cli_command *command, int argc, char **argv);
/* Every row of every command, one per line: "verb[ subverb]\t--name\tkind\tvalue\tparam", for
 * the test that no flag name has two meanings. */
void cli_rows_list(const cli_command *const *commands, size_t count);
/* The shortest decimal text that reads back as x. */
void cli_shortest_number(double x, char *text, size_t size);
/* The value options holds for key, as a user would type it: a value name, a number, a string
 * ('' when empty). */
void cli_param_text(const df_options *options, df_param key, char *text, size_t size);

#endif
