/* dinofeat eval's scoring, which dinofeat paper runs on the predictions it writes. */
#ifndef DINOFEAT_CLI_SCORING_H
#define DINOFEAT_CLI_SCORING_H

#include <stddef.h>

enum { EVAL_SEMSEG = 0, EVAL_SALIENCY = 1, EVAL_CORLOC = 2 };

typedef struct eval_request {
    const char *pred, *gt, *json;
    long clusters, classes; /* semseg: 0 = the largest label found + 1 */
    int task, protocol;     /* EVAL_*; protocol: df_match */
} eval_request;

/* What a scoring found, as fractions (semseg: miou, accuracy, mean_f1; saliency: iou, accuracy,
 * max_f_beta; corloc: corloc). */
typedef struct eval_scores {
    size_t images;
    double miou, accuracy, mean_f1, iou, max_f_beta, corloc;
} eval_scores;

/* Scores the predictions in r->pred against r->gt: a folder of files, or with the setting
 * dataset.layout (--set, cli_options_new) a distributed dataset's root. Prints the table, writes
 * r->json when given, fills scores (may be NULL); an exit code, its error said. */
int eval_score(const eval_request *r, eval_scores *scores);

#endif
