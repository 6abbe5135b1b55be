/* dinofeat: the command-line face of the library. Each verb lives in its own file. */
#include "cli.h"
#include "rows.h"

#include <stdio.h>
#include <string.h>

static const cli_verb *const verbs[] = {&verb_info, &verb_features, &verb_upsample, &verb_segment, &verb_tokencut, &verb_eval, &verb_weak, &verb_datus, &verb_stego, &verb_sempart, &verb_neco, &verb_paper, &verb_launch, &verb_params};
#define VERB_COUNT (sizeof verbs / sizeof verbs[0])

static void print_help(FILE *out) {
    fprintf(out,
            "Usage: dinofeat VERB [OPTIONS]\n"
            "       dinofeat VERB --help\n"
            "\n"
            "Self-supervised ViT features (DINO, DINOv2, NeCo) and the methods built on them.\n"
            "\n"
            "Verbs:\n");
    for (size_t i = 0; i < VERB_COUNT; i++) fprintf(out, "  %-10s %s\n", verbs[i]->name, verbs[i]->summary);
    fprintf(out,
            "\n"
            "Options:\n"
            "  -h, --help     this text\n"
            "  --version      the library version and what it was built with\n"
            "  --set NAME=VALUE  any library parameter, in every verb (dinofeat params lists them)\n"
            "  --list-options the options of every verb, one per line: verb, option, value,\n"
            "                 library parameter (for completion scripts)\n"
            "\n"
            "Exit status: 0 success, 1 usage error, 2 input error (a file that cannot be\n"
            "read, decoded or written, a bad value), 3 internal error, 130/143 a training\n"
            "stopped by Ctrl-C/SIGTERM after saving its checkpoint (rerun to resume).\n"
            "Progress of long work goes to stderr: a bar on a terminal, one line per step\n"
            "otherwise.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        print_help(stderr);
        return EXIT_USAGE;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "-h") == 0 || strcmp(verb, "--help") == 0 || strcmp(verb, "help") == 0) {
        print_help(stdout);
        return EXIT_OK;
    }
    if (strcmp(verb, "--list-options") == 0) {
        const struct cli_command *commands[VERB_COUNT];
        size_t count = 0;
        for (size_t i = 0; i < VERB_COUNT; i++) commands[count++] = verbs[i]->command;
        cli_rows_list(commands, count);
        return EXIT_OK;
    }
    if (strcmp(verb, "--version") == 0 || strcmp(verb, "-V") == 0) {
        printf("dinofeat %s\n%s\n", df_version_string(), df_build_info());
        return EXIT_OK;
    }
    for (size_t i = 0; i < VERB_COUNT; i++) {
        if (strcmp(verb, verbs[i]->name) != 0) continue;
        /* the settings first: the help shows the defaults they make, and the subverb after them */
        int verb_argc = argc - 1;
        const int code = cli_take_settings(&verb_argc, argv + 1);
        if (code != EXIT_OK) return code;
        if (cli_wants_help(verb_argc, argv + 1)) {
            cli_rows_help_for(verbs[i]->command, verb_argc, argv + 1);
            return EXIT_OK;
        }
        return verbs[i]->run(verb_argc, argv + 1);
    }
    fprintf(stderr, "dinofeat: unknown verb '%s'\nTry 'dinofeat --help'.\n", verb);
    return EXIT_USAGE;
}
