/* The classical feature options: each goes straight to its library parameter, which checks it. */
#include "classical_args.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* The library's message without the name of the function that failed, which means nothing here. */
static const char *reason(void) {
    const char *message = df_last_error_message(), *colon = strstr(message, ": ");
    return strncmp(message, "df_", 3) == 0 && colon ? colon + 2 : message;
}

int classical_args_parse(df_options *options, int option, const char *value, const char *verb) {
    static const struct {
        int option;
        df_param key;
        const char *name;
    } numbers[] = {{1101, DF_PARAM_CLASSICAL_MIN_SIGMA, "--min-sigma"},
                   {1102, DF_PARAM_CLASSICAL_MAX_SIGMA, "--max-sigma"},
                   {1103, DF_PARAM_CLASSICAL_MEMBRANE_SIZE, "--membrane-size"},
                   {1104, DF_PARAM_CLASSICAL_MEMBRANE_THICKNESS, "--membrane-thickness"}};
    if (option == 1100) {
        size_t channels;
        if (df_options_set_str(options, DF_PARAM_CLASSICAL_GROUPS, value) == DF_OK &&
            df_classical_channels(options, &channels) == DF_OK)
            return 1;
        cli_usage_error(verb, "--groups: %s", reason());
        return -1;
    }
    for (size_t i = 0; i < sizeof numbers / sizeof *numbers; i++) {
        if (numbers[i].option != option) continue;
        long number;
        if (cli_parse_long(value, -1000000, 1000000, &number) != 0) {
            cli_usage_error(verb, "%s takes a whole number, not '%s'", numbers[i].name, value);
            return -1;
        }
        if (df_options_set_int(options, numbers[i].key, number) == DF_OK) return 1;
        cli_usage_error(verb, "%s: %s", numbers[i].name, reason());
        return -1;
    }
    return 0;
}
