/* SPDX-License-Identifier: MIT */
/* serve.c - a pool of threads answering prediction requests from one loaded
 * model, each thread through its own inference context (docs/serving.md).
 *
 *   serve [MODEL.nnf [THREADS [REQUESTS]]]
 *
 * Without a model file it trains a small classifier (4 features, 3 classes)
 * and saves it to serve-model.nnf in the current directory first, then
 * serves that file; it says so, and leaves the file for a second run. The
 * main thread queues REQUESTS requests of one sample each (default 20000)
 * for THREADS workers (default 4); each worker answers with its context and
 * the main thread checks every answer against nnf_net_predict on the same
 * sample (bit-identical: same sample, same batch size, one thread each). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <nnfast.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MAX_THREADS = 64 };

/* One request: a sample in, the model's outputs back. */
typedef struct request {
    const float *x;
    float *y;
    nnf_status st;
} request;

/* The queue of requests the workers take from, in order. */
typedef struct queue {
    pthread_mutex_t lock;
    request *req;
    size_t n, next;
} queue;

typedef struct worker {
    queue *q;
    nnf_ctx *ctx;
    size_t answered;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->q->lock);
        size_t i = w->q->next < w->q->n ? w->q->next++ : w->q->n;
        pthread_mutex_unlock(&w->q->lock);
        if (i == w->q->n)
            return NULL;
        request *r = &w->q->req[i];
        r->st = nnf_ctx_predict(w->ctx, r->x, 1, r->y);
        w->answered++;
    }
}

/* A 4-16-3 softmax classifier of which quadrant-and-radius class a point
 * falls in, trained briefly and saved to path. */
static int make_model(const char *path)
{
    enum { M = 512, IN = 4, OUT = 3 };
    static float x[M * IN], y[M * OUT];
    unsigned s = 7;
    for (size_t i = 0; i < M; i++) {
        for (size_t k = 0; k < IN; k++) {
            s = s * 1103515245u + 12345u;
            x[i * IN + k] = (float)((s >> 8) % 2001) / 1000.0f - 1.0f;
        }
        float r = x[i * IN] * x[i * IN] + x[i * IN + 1] * x[i * IN + 1];
        size_t c = r < 0.3f ? 0 : x[i * IN + 2] > 0.0f ? 1 : 2;
        for (size_t k = 0; k < OUT; k++)
            y[i * OUT + k] = k == c ? 1.0f : 0.0f;
    }
    nnf_net *net = NULL;
    int ok = nnf_net_create(&net, IN) == NNF_OK &&
             nnf_net_add_dense(net, 16, NNF_ACT_TANH, NULL) == NNF_OK &&
             nnf_net_add_dense(net, OUT, NNF_ACT_SOFTMAX, NULL) == NNF_OK &&
             nnf_net_set_loss(net, NNF_LOSS_CROSS_ENTROPY) == NNF_OK &&
             nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAM) == NNF_OK &&
             nnf_net_train(net, x, y, M, 32, 30, 1, 1, NULL, NULL, NULL) == NNF_OK &&
             nnf_net_save(net, path, 0) == NNF_OK;
    if (!ok)
        fprintf(stderr, "serve: making the model: %s\n", nnf_net_errmsg(net));
    nnf_net_destroy(net);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "serve-model.nnf";
    int threads = argc > 2 ? atoi(argv[2]) : 4;
    long requests = argc > 3 ? atol(argv[3]) : 20000;
    if (threads < 1 || threads > MAX_THREADS || requests < 1) {
        fprintf(stderr, "usage: serve [MODEL.nnf [THREADS (1..%d) [REQUESTS]]]\n", MAX_THREADS);
        return 2;
    }
    if (argc <= 1) {
        if (make_model(path) != 0)
            return 1;
        printf("trained a 4-16-3 classifier and saved it to %s (kept for another run)\n", path);
    }

    char why[256];
    nnf_net *net = NULL;
    if (nnf_net_load(&net, path, why, sizeof why) != NNF_OK) {
        fprintf(stderr, "serve: %s\n", why);
        return 1;
    }
    size_t in = nnf_net_inputs(net), out = nnf_net_outputs(net);
    /* Many threads each computing: nnfast's own threads would only make
     * them wait for each other. */
    nnf_set_threads(1);

    queue q = {PTHREAD_MUTEX_INITIALIZER, calloc((size_t)requests, sizeof(request)),
               (size_t)requests, 0};
    float *xs = malloc((size_t)requests * in * sizeof(float));
    float *ys = malloc((size_t)requests * out * sizeof(float));
    float *want = malloc(out * sizeof(float));
    worker w[MAX_THREADS];
    pthread_t th[MAX_THREADS];
    if (!q.req || !xs || !ys || !want) {
        fprintf(stderr, "serve: out of memory\n");
        nnf_net_destroy(net);
        return 1;
    }
    unsigned s = 1;
    for (size_t i = 0; i < q.n * in; i++) {
        s = s * 1103515245u + 12345u;
        xs[i] = (float)((s >> 8) % 2001) / 1000.0f - 1.0f;
    }
    for (size_t i = 0; i < q.n; i++)
        q.req[i] = (request){xs + i * in, ys + i * out, NNF_OK};
    for (int t = 0; t < threads; t++) {
        w[t] = (worker){&q, NULL, 0};
        if (nnf_ctx_create(net, 1, &w[t].ctx) != NNF_OK) {
            fprintf(stderr, "serve: %s\n", nnf_net_errmsg(net));
            return 1;
        }
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int t = 0; t < threads; t++)
        pthread_create(&th[t], NULL, work, &w[t]);
    for (int t = 0; t < threads; t++)
        pthread_join(th[t], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;

    /* Every answer against the net's own prediction of the same sample. */
    size_t wrong = 0, failed = 0;
    for (size_t i = 0; i < q.n; i++) {
        if (q.req[i].st != NNF_OK) {
            failed++;
            continue;
        }
        if (nnf_net_predict(net, q.req[i].x, 1, want) != NNF_OK ||
            memcmp(want, q.req[i].y, out * sizeof(float)) != 0)
            wrong++;
    }
    printf("%ld requests answered by %d threads sharing one model (%zu contexts) in %.3f s: "
           "%.0f per second\n",
           requests, threads, nnf_net_contexts(net), secs, (double)requests / secs);
    for (int t = 0; t < threads; t++) {
        printf("  thread %d answered %zu\n", t, w[t].answered);
        nnf_ctx_destroy(w[t].ctx);
    }
    printf("%zu failed, %zu differ from nnf_net_predict\n", failed, wrong);
    nnf_net_destroy(net);
    free(q.req);
    free(xs);
    free(ys);
    free(want);
    return failed || wrong ? 1 : 0;
}
