/* Option rows: parsing and help from one table (rows.h). */
#include "rows.h"
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { HELP_COLUMN = 24, FIRST_OPTION = 2000 };

static int first_operand;

int cli_rows_first_operand(void) { return first_operand; }

int cli_subverb_index(const cli_command *command, const char *name) {
    for (int i = 0; name && command->subverbs && command->subverbs[i]; i++)
        if (strcmp(command->subverbs[i], name) == 0) return i;
    return -1;
}

static int row_applies(const cli_row *row, int subverb) {
    return subverb < 0 || row->where == 0 || (row->where & (1u << subverb)) != 0;
}

/* "verb" or "verb subverb", for messages. */
static const char *command_name(const cli_command *command, int subverb, char *buffer, size_t size) {
    if (subverb < 0) return command->verb;
    snprintf(buffer, size, "%s %s", command->verb, command->subverbs[subverb]);
    return buffer;
}

void cli_shortest_number(double x, char *text, size_t size) {
    for (int digits = 6; digits <= 17; digits++) { /* %.6g first: 10 as "10", not "1e+01" */
        snprintf(text, size, "%.*g", digits, x);
        if (strtod(text, NULL) == x) return;
    }
}

void cli_param_text(const df_options *options, df_param key, char *text, size_t size) {
    df_param_type type = DF_PARAM_TYPE_INT;
    df_param_type_of(key, &type);
    text[0] = '\0';
    if (type == DF_PARAM_TYPE_STRING) {
        const char *value = NULL;
        df_options_get_str(options, key, &value);
        snprintf(text, size, "%s", value && value[0] ? value : "''");
    } else if (type == DF_PARAM_TYPE_FLOAT) {
        double value = 0;
        df_options_get_float(options, key, &value);
        cli_shortest_number(value, text, size);
    } else {
        int64_t value = 0;
        df_options_get_int(options, key, &value);
        const char *name = df_param_value_name(key, value);
        if (name) snprintf(text, size, "%s", name);
        else snprintf(text, size, "%lld", (long long)value);
    }
}

/* The default a row shows in the help, from the initialised request or the verb's options;
 * empty for none. */
static void row_default(const cli_row *row, const void *request, const df_options *options, char *text, size_t size) {
    const char *base = request;
    text[0] = '\0';
    if (row->flags & CLI_ROW_NO_DEFAULT) return;
    switch (row->kind) {
    case CLI_ROW_STRING: {
        const char *value = *(const char *const *)(base + row->offset);
        if (value) snprintf(text, size, "%s", value);
        break;
    }
    case CLI_ROW_LONG: snprintf(text, size, "%ld", *(const long *)(base + row->offset)); break;
    case CLI_ROW_DOUBLE: cli_shortest_number(*(const double *)(base + row->offset), text, size); break;
    case CLI_ROW_CHOICE: {
        int index = *(const int *)(base + row->offset);
        if (index < 0) break;
        const char *p = row->fixed;
        for (int i = 0; i < index && p; i++) p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL;
        if (p) snprintf(text, size, "%.*s", (int)(strchr(p, '|') ? (size_t)(strchr(p, '|') - p) : strlen(p)), p);
        break;
    }
    case CLI_ROW_PARAM:
        if (options) cli_param_text(options, row->param, text, size);
        break;
    default: break;
    }
}

static void print_row(const cli_row *row, const void *request, const df_options *options) {
    char left[96], fallback[128];
    if (row->value_name == NULL) snprintf(left, sizeof left, "  --%s", row->name);
    else if (row->flags & CLI_ROW_OPTIONAL_VALUE) snprintf(left, sizeof left, "  --%s[=%s]", row->name, row->value_name);
    else snprintf(left, sizeof left, "  --%s %s", row->name, row->value_name);
    row_default(row, request, options, fallback, sizeof fallback);
    /* An enum parameter's help lists its values when the row's own help does not. */
    const char *help = row->help ? row->help : df_param_help(row->param);
    printf("%-*s", HELP_COLUMN, left);
    if ((int)strlen(left) >= HELP_COLUMN) printf("\n%*s", HELP_COLUMN, "");
    for (const char *p = help; *p; p++) {
        putchar(*p);
        if (*p == '\n') printf("%*s", HELP_COLUMN, "");
    }
    if (row->flags & CLI_ROW_REQUIRED) printf(" (required)");
    else if (fallback[0]) printf(" (default %s)", fallback);
    putchar('\n');
}

/* A request and options as the verb starts from, for the defaults the help shows. */
static void *initial_request(const cli_command *command) {
    void *request = calloc(1, command->request_size ? command->request_size : 1);
    if (request && command->init) command->init(request);
    return request;
}

void cli_rows_help(const cli_command *command, int subverb) {
    const char *const *usages = command->usages;
    for (int i = 0; usages[i]; i++) {
        if (subverb >= 0 && command->subverbs && i != subverb) continue;
        int first = subverb >= 0 || i == 0;
        printf("%s dinofeat %s %s\n", first ? "Usage:" : "      ", command->verb, usages[i]);
    }
    printf("\n%s", command->description);
    if (command->summaries) {
        for (int i = 0; command->summaries[i]; i++) {
            if (subverb >= 0 && i != subverb) continue;
            printf("%s", command->summaries[i]);
        }
    }
    void *request = initial_request(command);
    df_options *options = NULL;
    if (cli_options_new(&options) == DF_OK && command->defaults) {
        command->defaults(options, subverb < 0 ? 0u : 1u << subverb);
        cli_reapply_settings(options);
    }
    /* A verb with subverbs lists only its common rows: each subverb's help lists its own. */
    int overview = subverb < 0 && command->subverbs;
    if (subverb >= 0) printf("\n%s options:\n", command->subverbs[subverb]);
    else printf("\nOptions:\n");
    for (size_t i = 0; i < command->row_count; i++) {
        const cli_row *row = &command->rows[i];
        if (request && (overview ? row->where == 0 : row_applies(row, subverb))) print_row(row, request, options);
    }
    printf("  -h, --help            this text\n");
    if (overview) {
        printf("\nThe options of each:");
        for (int i = 0; command->subverbs[i]; i++) printf(" dinofeat %s %s --help%s", command->verb, command->subverbs[i],
                                                          command->subverbs[i + 1] ? "," : "\n");
    }
    if (command->epilogue) printf("\n%s", command->epilogue);
    df_options_free(options);
    free(request);
}

void cli_rows_help_for(const cli_command *command, int argc, char **argv) {
    cli_rows_help(command, argc > 1 ? cli_subverb_index(command, argv[1]) : -1);
}

static int set_param(df_options *options, const cli_row *row, const char *value, const char *name) {
    char setting[4200];
    snprintf(setting, sizeof setting, "%s=%s", df_param_name(row->param), value);
    if (df_options_set_from_string(options, setting) == DF_OK) return EXIT_OK;
    /* The library's message names the parameter and lists its values; the user typed the flag. */
    const char *why = df_last_error_message();
    while (strncmp(why, "df_", 3) == 0 && strstr(why, ": ")) why = strstr(why, ": ") + 2;
    return cli_usage_error(name, "--%s %s: %s", row->name, value, why);
}

/* "a|b|c" as "a, b or c". */
static void choices_text(const char *choices, char *text, size_t size) {
    size_t used = 0;
    for (const char *p = choices; p && used < size; p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL) {
        const char *bar = strchr(p, '|');
        const char *joint = p == choices ? "" : bar ? ", " : " or ";
        used += (size_t)snprintf(text + used, size - used, "%s%.*s", joint, (int)(bar ? (size_t)(bar - p) : strlen(p)), p);
    }
}

static int choice_index(const char *choices, const char *value) {
    int index = 0;
    for (const char *p = choices; p; p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL, index++) {
        size_t length = strchr(p, '|') ? (size_t)(strchr(p, '|') - p) : strlen(p);
        if (strlen(value) == length && strncmp(p, value, length) == 0) return index;
    }
    return -1;
}

static int apply_row(const cli_row *row, const char *value, void *request, df_options *options, const char *name) {
    char *base = request;
    switch (row->kind) {
    case CLI_ROW_STRING: *(const char **)(base + row->offset) = value; break;
    case CLI_ROW_LONG:
        if (cli_parse_long(value, (long)row->lo, (long)row->hi, (long *)(base + row->offset)) != 0)
            return cli_usage_error(name, "--%s takes a whole number %ld..%ld, not '%s'", row->name, (long)row->lo,
                                   (long)row->hi, value);
        break;
    case CLI_ROW_DOUBLE: {
        char *end;
        double x = strtod(value, &end);
        if (end == value || *end || !(x >= row->lo && x <= row->hi))
            return cli_usage_error(name, "--%s takes a number in %g..%g, not '%s'", row->name, row->lo, row->hi, value);
        *(double *)(base + row->offset) = x;
        break;
    }
    case CLI_ROW_SWITCH: *(int *)(base + row->offset) = (int)row->lo; break;
    case CLI_ROW_SIZE:
        if (cli_parse_size(value, (long *)(base + row->offset), (long *)(base + row->offset2)) != 0)
            return cli_usage_error(name, "--%s takes WxH, e.g. 448x448, not '%s'", row->name, value);
        break;
    case CLI_ROW_CHOICE: {
        int index = choice_index(row->fixed, value);
        if (index < 0) {
            char names[256];
            choices_text(row->fixed, names, sizeof names);
            return cli_usage_error(name, "--%s is %s, not '%s'", row->name, names, value);
        }
        *(int *)(base + row->offset) = index;
        break;
    }
    case CLI_ROW_STRINGS: {
        const char ***list = (const char ***)(base + row->offset);
        size_t *count = (size_t *)(base + row->offset2);
        const char **grown = realloc(*list, (*count + 1) * sizeof *grown);
        if (grown == NULL) return cli_fail(name, DF_E_OUT_OF_MEMORY);
        grown[(*count)++] = value;
        *list = grown;
        break;
    }
    case CLI_ROW_PARAM: return set_param(options, row, value ? value : row->fixed, name);
    case CLI_ROW_PARAM_FIXED: return set_param(options, row, row->fixed, name);
    }
    if ((row->flags & CLI_ROW_MARK_GIVEN) && row->kind != CLI_ROW_SIZE && row->kind != CLI_ROW_STRINGS) *(int *)(base + row->offset2) = 1;
    return EXIT_OK;
}

static int has_value(const cli_row *row) {
    return row->value_name != NULL;
}

int cli_rows_parse(const cli_command *command, int subverb, int argc, char **argv, void *request, df_options *options) {
    char buffer[96];
    const char *name = command_name(command, subverb, buffer, sizeof buffer);
    memset(request, 0, command->request_size);
    if (command->init) command->init(request);
    if (options && command->defaults &&
        (command->defaults(options, subverb < 0 ? 0u : 1u << subverb) != DF_OK || cli_reapply_settings(options) != DF_OK))
        return cli_fail(name, DF_E_INVALID_ARG);
    struct option *table = calloc(command->row_count + 1, sizeof *table);
    unsigned char *given = calloc(command->row_count + 1, 1);
    if (table == NULL || given == NULL) {
        free(table);
        free(given);
        return cli_fail(name, DF_E_OUT_OF_MEMORY);
    }
    size_t entries = 0;
    for (size_t i = 0; i < command->row_count; i++) {
        const cli_row *row = &command->rows[i];
        if (!row_applies(row, subverb)) continue;
        table[entries].name = row->name;
        table[entries].has_arg = !has_value(row)                      ? no_argument
                                 : (row->flags & CLI_ROW_OPTIONAL_VALUE) ? optional_argument
                                                                       : required_argument;
        table[entries].val = FIRST_OPTION + (int)i;
        entries++;
    }
    int code = EXIT_OK;
    optind = 1;
    opterr = 0;
    /* "+": options end at the first operand, which may be another command's (launch -- CMD -x). */
    const char *optstring = command->operands ? "+:" : ":";
    for (int option; code == EXIT_OK && (option = getopt_long(argc, argv, optstring, table, NULL)) != -1;) {
        if (option >= FIRST_OPTION) {
            const cli_row *row = &command->rows[option - FIRST_OPTION];
            given[option - FIRST_OPTION] = 1;
            code = apply_row(row, optarg, request, options, name);
        } else if (option == ':') {
            code = cli_usage_error(name, "%s needs a value", argv[optind - 1]);
        } else {
            code = cli_usage_error(name, "unknown option '%s'", argv[optind - 1]);
        }
    }
    first_operand = optind;
    if (code == EXIT_OK && optind < argc && !command->operands)
        code = cli_usage_error(name, "unexpected argument '%s'", argv[optind]);
    for (size_t i = 0; code == EXIT_OK && i < command->row_count; i++) {
        const cli_row *row = &command->rows[i];
        if ((row->flags & CLI_ROW_REQUIRED) && row_applies(row, subverb) && subverb >= (command->subverbs ? 0 : -1) &&
            !given[i])
            code = row->value_name ? cli_usage_error(name, "--%s %s is required", row->name, row->value_name)
                                   : cli_usage_error(name, "--%s is required", row->name);
    }
    free(table);
    free(given);
    return code;
}

void cli_rows_list(const cli_command *const *commands, size_t count) {
    for (size_t c = 0; c < count; c++) {
        const cli_command *command = commands[c];
        int subverbs = 0;
        while (command->subverbs && command->subverbs[subverbs]) subverbs++;
        for (int s = command->subverbs ? 0 : -1; s < subverbs; s++) {
            for (size_t i = 0; i < command->row_count; i++) {
                const cli_row *row = &command->rows[i];
                if (!row_applies(row, s)) continue;
                printf("%s%s%s\t--%s\t%s\t%s\n", command->verb, s >= 0 ? " " : "", s >= 0 ? command->subverbs[s] : "",
                       row->name, row->value_name ? row->value_name : "-",
                       row->kind == CLI_ROW_PARAM || row->kind == CLI_ROW_PARAM_FIXED ? df_param_name(row->param) : "-");
            }
        }
    }
}
