/* A dataset pass: worker threads decode the items of the pass's order ahead of the consumer into
 * a ring of `prefetch` slots; position p of the order always lands in slot p % prefetch, and the
 * consumer takes positions in order, so the order never depends on which worker was faster. */
#include "dataset_internal.h"

#include <stdlib.h>
#include <string.h>

static void clear_slot(dfi_prefetched *slot) {
    df_image_free(slot->image);
    df_image_free(slot->labels);
    memset(slot, 0, sizeof *slot);
}

/* Back to no pass (the lock and condition stay). */
static void forget(dfi_pass *pass) {
    pass->order = NULL, pass->ring = NULL, pass->threads = NULL;
    pass->length = pass->scheduled = pass->consumed = pass->capacity = pass->thread_count = 0;
    pass->stopping = pass->running = 0;
}

static void *work(void *argument) {
    df_dataset *d = argument;
    dfi_pass *pass = &d->pass;
    pthread_mutex_lock(&pass->lock);
    for (;;) {
        while (!pass->stopping && pass->scheduled < pass->length && pass->scheduled - pass->consumed >= pass->capacity)
            pthread_cond_wait(&pass->changed, &pass->lock);
        if (pass->stopping || pass->scheduled >= pass->length) break;
        const size_t position = pass->scheduled++, item = pass->order[position];
        pthread_mutex_unlock(&pass->lock);
        dfi_prefetched result = {.ready = 1, .item = item};
        result.status = dfi_dataset_decode(d, item, &result.image, d->labels ? &result.labels : NULL);
        if (result.status != DF_OK) snprintf(result.message, sizeof result.message, "%s", df_last_error_message());
        pthread_mutex_lock(&pass->lock);
        pass->ring[position % pass->capacity] = result;
        pthread_cond_broadcast(&pass->changed);
    }
    pthread_mutex_unlock(&pass->lock);
    return NULL;
}

df_status dfi_pass_start(df_dataset *d, size_t *order, size_t length) {
    dfi_pass *pass = &d->pass;
    pass->order = order, pass->length = length;
    pass->scheduled = pass->consumed = 0;
    pass->stopping = 0;
    pass->capacity = (size_t)d->prefetch;
    pass->thread_count = (size_t)d->workers;
    pass->ring = calloc(pass->capacity, sizeof *pass->ring);
    pass->threads = calloc(pass->thread_count, sizeof *pass->threads);
    if (pass->ring == NULL || pass->threads == NULL) {
        free(pass->ring), free(pass->threads), free(order);
        forget(pass);
        return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    }
    size_t started = 0;
    for (; started < pass->thread_count; started++)
        if (pthread_create(&pass->threads[started], NULL, work, d) != 0) break;
    pass->thread_count = started;
    pass->running = 1;
    if (started == 0) {
        dfi_pass_stop(pass);
        return dfi_error(DF_E_INTERNAL, "cannot start a decoding thread");
    }
    return DF_OK;
}

void dfi_pass_stop(dfi_pass *pass) {
    if (!pass->running) return;
    pthread_mutex_lock(&pass->lock);
    pass->stopping = 1;
    pthread_cond_broadcast(&pass->changed);
    pthread_mutex_unlock(&pass->lock);
    for (size_t t = 0; t < pass->thread_count; t++) pthread_join(pass->threads[t], NULL);
    for (size_t s = 0; s < pass->capacity; s++) clear_slot(&pass->ring[s]);
    free(pass->ring), free(pass->threads), free(pass->order);
    forget(pass);
}

df_status dfi_pass_next(dfi_pass *pass, size_t *item, df_image **image, df_image **labels, int *done) {
    *done = 0;
    pthread_mutex_lock(&pass->lock);
    if (pass->consumed >= pass->length) {
        pthread_mutex_unlock(&pass->lock);
        *done = 1;
        return DF_OK;
    }
    dfi_prefetched *slot = &pass->ring[pass->consumed % pass->capacity];
    while (!slot->ready) pthread_cond_wait(&pass->changed, &pass->lock);
    dfi_prefetched taken = *slot;
    memset(slot, 0, sizeof *slot);
    pass->consumed++;
    pthread_cond_broadcast(&pass->changed);
    pthread_mutex_unlock(&pass->lock);
    if (item) *item = taken.item;
    if (taken.status != DF_OK) {
        const df_status status = taken.status;
        char message[sizeof taken.message];
        memcpy(message, taken.message, sizeof message);
        clear_slot(&taken);
        return dfi_error(status, "%s", message);
    }
    if (image) *image = taken.image;
    else df_image_free(taken.image);
    if (labels) *labels = taken.labels;
    else df_image_free(taken.labels);
    return DF_OK;
}
