/* L2-regularised logistic regression with balanced class weights, as scikit-learn's
 * LogisticRegression(C, class_weight='balanced') defines it: multinomial (softmax) for three or
 * more classes, a single sigmoid for two. Minimises
 *   C sum_i w_i (-log p_i[y_i]) + 1/2 |W|^2   (intercepts not penalised)
 * with L-BFGS (Nocedal and Wright, algorithm 7.4) and a backtracking Armijo line search, in double
 * precision, until the gradient's largest entry is below tol x (1 + |objective|). */
#include "weak_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HISTORY 10

struct df_logreg {
    size_t features, classes, rows; /* rows of weights: classes, or 1 for a binary problem */
    double *weights;                /* rows x (features + 1), the intercept last */
    int64_t iterations;
};

typedef struct problem {
    const float *x;
    const int32_t *y;
    const double *sample_weight;
    size_t n, d, rows;
    double c;
} problem;

/* The objective at theta (rows x (d + 1)); gradient gets its gradient. */
static double objective(const problem *p, const double *theta, double *gradient) {
    const size_t d1 = p->d + 1, size = p->rows * d1;
    double loss = 0;
    for (size_t k = 0; k < size; k++) gradient[k] = 0;
#pragma omp parallel
    {
        double *g = calloc(size, sizeof *g), *z = malloc((p->rows + 1) * sizeof *z), local = 0;
        if (g != NULL && z != NULL) {
#pragma omp for schedule(static)
            for (size_t i = 0; i < p->n; i++) {
                const float *xi = p->x + i * p->d;
                for (size_t r = 0; r < p->rows; r++) {
                    const double *w = theta + r * d1;
                    double s = w[p->d];
                    for (size_t j = 0; j < p->d; j++) s += w[j] * xi[j];
                    z[r] = s;
                }
                const double sw = p->sample_weight[i] * p->c;
                if (p->rows == 1) { /* binary: p(class 1) = sigmoid(z) */
                    const double t = p->y[i] == 1 ? 1.0 : -1.0, m = t * z[0];
                    local += sw * (m > 0 ? log1p(exp(-m)) : -m + log1p(exp(m)));
                    const double residual = sw * (1.0 / (1.0 + exp(-z[0])) - (p->y[i] == 1));
                    for (size_t j = 0; j < p->d; j++) g[j] += residual * xi[j];
                    g[p->d] += residual;
                } else {
                    double top = z[0], total = 0;
                    for (size_t r = 1; r < p->rows; r++) top = fmax(top, z[r]);
                    for (size_t r = 0; r < p->rows; r++) total += exp(z[r] - top);
                    local += sw * (top + log(total) - z[p->y[i]]);
                    for (size_t r = 0; r < p->rows; r++) {
                        const double residual = sw * (exp(z[r] - top) / total - ((size_t)p->y[i] == r));
                        double *gr = g + r * d1;
                        for (size_t j = 0; j < p->d; j++) gr[j] += residual * xi[j];
                        gr[p->d] += residual;
                    }
                }
            }
#pragma omp critical
            {
                loss += local;
                for (size_t k = 0; k < size; k++) gradient[k] += g[k];
            }
        }
        free(g);
        free(z);
    }
    for (size_t r = 0; r < p->rows; r++)
        for (size_t j = 0; j < p->d; j++) {
            const double w = theta[r * d1 + j];
            loss += 0.5 * w * w;
            gradient[r * d1 + j] += w;
        }
    return loss;
}

static double dot(const double *a, const double *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

static double largest(const double *a, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
    return m;
}

/* L-BFGS from theta = 0; returns the iterations, or -1 when out of memory. */
static int64_t minimise(const problem *p, double *theta, int64_t max_iter, double tol) {
    const size_t size = p->rows * (p->d + 1);
    double *g = malloc(size * sizeof *g), *direction = malloc(size * sizeof *direction);
    double *trial = malloc(size * sizeof *trial), *trial_g = malloc(size * sizeof *trial_g);
    double *s = malloc(HISTORY * size * sizeof *s), *y = malloc(HISTORY * size * sizeof *y);
    double rho[HISTORY], alpha[HISTORY];
    if (!g || !direction || !trial || !trial_g || !s || !y) {
        free(g), free(direction), free(trial), free(trial_g), free(s), free(y);
        return -1;
    }
    memset(theta, 0, size * sizeof *theta);
    double f = objective(p, theta, g);
    int64_t it = 0;
    size_t stored = 0, newest = 0;
    while (it < max_iter && largest(g, size) > tol * (1 + fabs(f))) {
        /* two-loop recursion: direction = -H g */
        for (size_t k = 0; k < size; k++) direction[k] = -g[k];
        for (size_t m = 0; m < stored; m++) {
            size_t h = (newest + HISTORY - m) % HISTORY;
            alpha[h] = rho[h] * dot(s + h * size, direction, size);
            for (size_t k = 0; k < size; k++) direction[k] -= alpha[h] * y[h * size + k];
        }
        double scale = 1.0 / fmax(1.0, largest(g, size)); /* the first step: a cautious length */
        if (stored) scale = dot(s + newest * size, y + newest * size, size) / dot(y + newest * size, y + newest * size, size);
        for (size_t k = 0; k < size; k++) direction[k] *= scale;
        for (size_t m = stored; m-- > 0;) {
            size_t h = (newest + HISTORY - m) % HISTORY;
            double beta = rho[h] * dot(y + h * size, direction, size);
            for (size_t k = 0; k < size; k++) direction[k] += s[h * size + k] * (alpha[h] - beta);
        }
        double slope = dot(g, direction, size);
        if (slope >= 0) { /* not a descent direction: restart from steepest descent */
            for (size_t k = 0; k < size; k++) direction[k] = -g[k] / fmax(1.0, largest(g, size));
            slope = dot(g, direction, size);
            stored = 0;
        }
        double step = 1, f_trial = f;
        for (int tries = 0; tries < 60; tries++, step *= 0.5) {
            for (size_t k = 0; k < size; k++) trial[k] = theta[k] + step * direction[k];
            f_trial = objective(p, trial, trial_g);
            if (f_trial <= f + 1e-4 * step * slope) break;
        }
        if (!(f_trial < f)) break; /* no decrease possible in floating point: converged */
        const size_t slot = stored ? (newest + 1) % HISTORY : newest;
        for (size_t k = 0; k < size; k++) s[slot * size + k] = trial[k] - theta[k], y[slot * size + k] = trial_g[k] - g[k];
        const double sy = dot(s + slot * size, y + slot * size, size);
        if (sy > 1e-12) {
            rho[slot] = 1.0 / sy;
            newest = slot;
            if (stored < HISTORY) stored++;
        }
        memcpy(theta, trial, size * sizeof *theta);
        memcpy(g, trial_g, size * sizeof *g);
        f = f_trial;
        it++;
    }
    free(g), free(direction), free(trial), free(trial_g), free(s), free(y);
    return it;
}

static df_status train(const float *x, const int32_t *y, size_t n, size_t features, size_t classes,
                       const df_options *options, df_logreg **out) {
    size_t *count = calloc(classes, sizeof *count);
    double *sample_weight = malloc(n * sizeof *sample_weight);
    df_logreg *model = calloc(1, sizeof *model);
    const size_t rows = classes == 2 ? 1 : classes;
    if (model) model->weights = malloc(rows * (features + 1) * sizeof *model->weights);
    df_status status = count && sample_weight && model && model->weights ? DF_OK : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; status == DF_OK && i < n; i++) count[y[i]]++;
    for (size_t c = 0; status == DF_OK && c < classes; c++)
        if (count[c] == 0) status = dfi_error(DF_E_INVALID_ARG, "class %zu has no samples", c);
    if (status == DF_OK) {
        for (size_t i = 0; i < n; i++) sample_weight[i] = (double)n / ((double)classes * (double)count[y[i]]);
        problem p = {.x = x, .y = y, .sample_weight = sample_weight, .n = n, .d = features, .rows = rows,
                     .c = dfi_option_float(options, DF_PARAM_LOGREG_C)};
        model->features = features, model->classes = classes, model->rows = rows;
        model->iterations = minimise(&p, model->weights, dfi_option_int(options, DF_PARAM_LOGREG_MAX_ITER),
                                     dfi_option_float(options, DF_PARAM_LOGREG_TOL));
        if (model->iterations < 0) status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    }
    free(count);
    free(sample_weight);
    if (status != DF_OK) {
        df_logreg_free(model);
        return status;
    }
    *out = model;
    return DF_OK;
}

df_status df_logreg_train(const float *x, const int32_t *y, size_t n, size_t features, size_t classes,
                          const df_options *options, df_logreg **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_NOT_NULL(x);
    DFI_CHECK_NOT_NULL(y);
    DFI_CHECK_ARG(n > 0 && features > 0 && classes >= 2 && classes <= 256,
                  "n and features must be at least 1, classes in 2..256");
    for (size_t i = 0; i < n; i++)
        if (y[i] < 0 || (size_t)y[i] >= classes)
            DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "label %d of sample %zu is outside 0..%zu", y[i], i, classes - 1));
    for (size_t i = 0; i < n * features; i++)
        if (!isfinite(x[i])) DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "feature value %zu is not finite", i));
    DFI_RETURN(train(x, y, n, features, classes, options, out));
}

df_status df_logreg_predict(const df_logreg *model, const float *x, size_t n, float *probabilities) {
    DFI_CHECK_NOT_NULL(model);
    DFI_CHECK_ARG(n == 0 || (x != NULL && probabilities != NULL), "x or probabilities is NULL");
    const size_t d = model->features, d1 = d + 1, k = model->classes;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * d;
        float *p = probabilities + i * k;
        double z[256], top = -INFINITY, total = 0; /* classes <= 256, checked at training */
        for (size_t r = 0; r < model->rows; r++) {
            const double *w = model->weights + r * d1;
            double s = w[d];
            for (size_t j = 0; j < d; j++) s += w[j] * xi[j];
            z[r] = s;
            top = fmax(top, s);
        }
        if (model->rows == 1) {
            const double one = 1.0 / (1.0 + exp(-z[0]));
            p[0] = (float)(1.0 - one), p[1] = (float)one;
            continue;
        }
        for (size_t r = 0; r < k; r++) total += exp(z[r] - top);
        for (size_t r = 0; r < k; r++) p[r] = (float)(exp(z[r] - top) / total);
    }
    return DF_OK;
}

df_status df_logreg_iterations(const df_logreg *model, int64_t *out) {
    DFI_CHECK_NOT_NULL(model);
    DFI_CHECK_NOT_NULL(out);
    *out = model->iterations;
    return DF_OK;
}

void df_logreg_free(df_logreg *model) {
    if (model == NULL) return;
    free(model->weights);
    free(model);
}

int dfi_logreg_write(const df_logreg *model, FILE *file) {
    const uint32_t head[3] = {(uint32_t)model->rows, (uint32_t)model->features, (uint32_t)model->classes};
    const size_t count = model->rows * (model->features + 1);
    return fwrite(head, 4, 3, file) != 3 || fwrite(model->weights, 8, count, file) != count ? -1 : 0;
}

df_status dfi_logreg_read(const unsigned char *data, size_t size, size_t features, size_t classes, df_logreg **out,
                          size_t *used) {
    *out = NULL;
    uint32_t head[3];
    if (size < 12) return dfi_error(DF_E_FORMAT, "truncated classifier file");
    memcpy(head, data, 12);
    const size_t rows = classes == 2 ? 1 : classes;
    if (head[0] != rows || head[1] != features || head[2] != classes)
        return dfi_error(DF_E_FORMAT, "the logistic regression's shape (%u x %u, %u classes) contradicts the header",
                         head[0], head[1], head[2]);
    const size_t count = rows * (features + 1);
    if ((size - 12) / 8 < count) return dfi_error(DF_E_FORMAT, "truncated classifier file");
    df_logreg *model = calloc(1, sizeof *model);
    if (model) model->weights = malloc(count * sizeof *model->weights);
    if (model == NULL || model->weights == NULL) {
        df_logreg_free(model);
        return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    }
    memcpy(model->weights, data + 12, count * 8);
    for (size_t i = 0; i < count; i++)
        if (!isfinite(model->weights[i])) {
            df_logreg_free(model);
            return dfi_error(DF_E_FORMAT, "corrupt classifier file: a weight is not finite");
        }
    model->rows = rows, model->features = features, model->classes = classes;
    *out = model;
    *used = 12 + count * 8;
    return DF_OK;
}
