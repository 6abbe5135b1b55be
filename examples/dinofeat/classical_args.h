/* The options of the classical feature set (HR-Dv2's featuriser settings), shared by weak train
 * and weak live: --groups, --min-sigma, --max-sigma, --membrane-size, --membrane-thickness. */
#ifndef DINOFEAT_CLI_CLASSICAL_ARGS_H
#define DINOFEAT_CLI_CLASSICAL_ARGS_H

#include "dinofeat/dinofeat.h"

#include <getopt.h>

/* getopt_long entries (values 1100..1104), to append to a verb's table. */
#define CLASSICAL_ARGS_OPTIONS                                                                          \
    {"groups", required_argument, NULL, 1100}, {"min-sigma", required_argument, NULL, 1101},          \
    {"max-sigma", required_argument, NULL, 1102}, {"membrane-size", required_argument, NULL, 1103},   \
    {"membrane-thickness", required_argument, NULL, 1104}

#define CLASSICAL_ARGS_HELP                                                                              \
    "  --groups G,G,...    classical feature groups (default gaussian,sobel,hessian,dog,membrane:\n"    \
    "                      the 58 channels); also mean, median, minimum, maximum, entropy,\n"          \
    "                      structure, neighbours, derivatives, bilateral\n"                             \
    "  --min-sigma N       smallest scale: 0 (default) adds the scale-0 channels, -1 starts at 0.5\n"  \
    "  --max-sigma N       largest scale (default 16; scales double)\n"                                 \
    "  --membrane-size N   side of the membrane kernel (default 19)\n"                                  \
    "  --membrane-thickness N  width of its line (default 1)\n"

/* Handles option (a getopt_long value) into options; returns 1 if it was a classical option, 0
 * if not, -1 on a bad value (after printing a usage error for verb). */
int classical_args_parse(df_options *options, int option, const char *value, const char *verb);

#endif
