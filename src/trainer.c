/* SPDX-License-Identifier: MIT */
/* trainer.c - the trainer (nnfast.h, "Trainer"): its settings, validation
 * set and progress function, and nnf_trainer_run: epochs of shuffled
 * mini-batches keyed by the net's epoch count, a learning-rate schedule,
 * gradient clipping, validation with early stopping and the best epoch's
 * parameters kept, and the progress calls. */
#include "alloc.h"
#include "batches.h"
#include "check.h"
#include "exchange.h"
#include "guard.h"
#include "metrics.h"
#include "pass.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

enum { N_KEYS = NNF_TRAIN_CLIP_NORM + 1, N_RESULTS = NNF_RESULT_LAST_COST + 1 };

/* One row per setting: its name in messages, default and range; integer
 * settings take whole numbers only. */
typedef struct key_row {
    const char *name;
    double def, lo, hi;
    int integer;
} key_row;

/* clang-format off */
static const key_row g_keys[N_KEYS] = {
    /*                         name            default lo   hi                  integer */
    [NNF_TRAIN_BATCH_SIZE]   = {"batch size",   32.0,   1.0, 2147483647.0,       1},
    [NNF_TRAIN_EPOCHS]       = {"epochs",       10.0,   1.0, 9007199254740992.0, 1},
    [NNF_TRAIN_SEED]         = {"seed",         0.0,    0.0, 9007199254740992.0, 1},
    [NNF_TRAIN_PATIENCE]     = {"patience",     0.0,    0.0, 9007199254740992.0, 1},
    [NNF_TRAIN_RESTORE_BEST] = {"restore-best", 1.0,    0.0, 1.0,                1},
    [NNF_TRAIN_SCHEDULE]     = {"schedule",     0.0,    0.0, 3.0,                1},
    [NNF_TRAIN_DECAY]        = {"decay",        0.1,    0.0, 1.0,                0},
    [NNF_TRAIN_DECAY_EPOCHS] = {"decay epochs", 10.0,   1.0, 9007199254740992.0, 1},
    [NNF_TRAIN_CLIP_NORM]    = {"clip norm",    0.0,    0.0, (double)FLT_MAX,    0},
};
/* clang-format on */

struct nnf_trainer {
    double set[N_KEYS];
    const float *vx, *vy; /* the validation set (not copied), or NULL */
    size_t vm;
    nnf_trainer_fn fn;
    void *user;
    double result[N_RESULTS];
    nnf__guard guard; /* one thread at a time */
    uint64_t serial;  /* tells this trainer's messages from those of one freed before */
    char errmsg[NNF__MSG_MAX];
};

struct nnf_progress {
    const nnf_net *net;
    double value[NNF_PROGRESS_BEST_VAL_COST + 1];
};

/* ---- settings */

static nnf_status enter(nnf__call *c, const char *fn, nnf_trainer *t)
{
    nnf__enter(c, fn, NULL, 0, t, t ? t->serial : 0);
    nnf_status st = t ? nnf__guard_hold(c, &t->guard, 1) : nnf__fail(NNF_ERR_ARG, "t is NULL");
    if (st == NNF_OK) {
        c->dst = t->errmsg;
        c->cap = sizeof t->errmsg;
    }
    return st;
}

NNF_API nnf_status nnf_trainer_create(nnf_trainer **out)
{
    nnf__call c;
    nnf__enter(&c, __func__, NULL, 0, NULL, 0);
    nnf_status st = NNF_OK;
    if (!out)
        return nnf__leave(&c, nnf__fail(NNF_ERR_ARG, "out is NULL (expected a place for the "
                                                     "new trainer)"));
    *out = NULL;
    nnf_trainer *t = nnf__malloc(sizeof *t);
    if (!t)
        return nnf__leave(&c, nnf__fail(NNF_ERR_NOMEM, "could not allocate the trainer"));
    memset(t, 0, sizeof *t);
    t->serial = nnf__new_serial();
    for (int k = 0; k < N_KEYS; k++)
        t->set[k] = g_keys[k].def;
    for (int k = 0; k < N_RESULTS; k++)
        t->result[k] = (double)NAN;
    t->guard.busy = "trainer is in use by another thread (a trainer runs one net at a time, "
                    "from one thread)";
    *out = t;
    return nnf__leave(&c, st);
}

NNF_API void nnf_trainer_destroy(nnf_trainer *t)
{
    nnf__free(t);
}

NNF_API nnf_status nnf_trainer_set(nnf_trainer *t, nnf_train_key key, double value)
{
    nnf__call c;
    nnf_status st = enter(&c, __func__, t);
    if (st == NNF_OK && ((int)key < 0 || (int)key >= N_KEYS))
        st = nnf__fail(NNF_ERR_ARG, "key = %d is not an nnf_train_key (expected 0..%d)", (int)key,
                       N_KEYS - 1);
    if (st == NNF_OK) {
        const key_row *r = &g_keys[key];
        if (!(value >= r->lo && value <= r->hi) || (r->integer && value != floor(value)))
            st = r->integer ? nnf__fail(NNF_ERR_ARG,
                                        "%s %g is out of range (expected an integer from "
                                        "%.0f to %.0f)",
                                        r->name, value, r->lo, r->hi)
                            : nnf__fail(NNF_ERR_ARG, "%s %g is out of range (expected %g to %g)",
                                        r->name, value, r->lo, r->hi);
    }
    if (st == NNF_OK)
        t->set[key] = value;
    return nnf__leave(&c, st);
}

/* *value = table[key] of t, after the checks nnf_trainer_get and
 * nnf_trainer_result share (type names the key's enum, n its values). */
static nnf_status read_keyed(const char *fn, const nnf_trainer *t, int key, int n, const char *type,
                             const double *table, double *value)
{
    nnf__call c;
    nnf__enter(&c, fn, NULL, 0, t, t ? t->serial : 0); /* the message: this thread's only */
    nnf_status st = NNF_OK;
    if (!t)
        st = nnf__fail(NNF_ERR_ARG, "t is NULL");
    else if (key < 0 || key >= n)
        st = nnf__fail(NNF_ERR_ARG, "key = %d is not an %s (expected 0..%d)", key, type, n - 1);
    else if (!value)
        st = nnf__fail(NNF_ERR_ARG, "value is NULL (expected a double)");
    else
        *value = table[key];
    return nnf__leave(&c, st);
}

NNF_API nnf_status nnf_trainer_get(const nnf_trainer *t, nnf_train_key key, double *value)
{
    return read_keyed(__func__, t, (int)key, N_KEYS, "nnf_train_key", t ? t->set : NULL, value);
}

NNF_API nnf_status nnf_trainer_set_validation(nnf_trainer *t, const float *x, const float *y,
                                              size_t m)
{
    nnf__call c;
    nnf_status st = enter(&c, __func__, t);
    if (st == NNF_OK && x && (!y || m == 0))
        st = nnf__fail(NNF_ERR_ARG,
                       "%s (expected labels and at least one sample, or x NULL "
                       "to remove the validation set)",
                       !y ? "y is NULL" : "m is 0");
    if (st == NNF_OK) {
        t->vx = x;
        t->vy = x ? y : NULL;
        t->vm = x ? m : 0;
    }
    return nnf__leave(&c, st);
}

NNF_API nnf_status nnf_trainer_set_progress(nnf_trainer *t, nnf_trainer_fn fn, void *user)
{
    nnf__call c;
    nnf_status st = enter(&c, __func__, t);
    if (st == NNF_OK) {
        t->fn = fn;
        t->user = fn ? user : NULL;
    }
    return nnf__leave(&c, st);
}

NNF_API const char *nnf_trainer_errmsg(const nnf_trainer *t)
{
    return t ? nnf__message(t, t->serial, t->errmsg) : "t is NULL";
}

NNF_API nnf_status nnf_trainer_report(nnf_trainer *t, nnf_status status, const char *msg)
{
    nnf__call c;
    nnf_status st = enter(&c, __func__, t);
    if (st == NNF_OK)
        st = nnf__report(status, msg);
    return nnf__leave(&c, st);
}

NNF_API nnf_status nnf_trainer_result(const nnf_trainer *t, nnf_train_result key, double *value)
{
    return read_keyed(__func__, t, (int)key, N_RESULTS, "nnf_train_result", t ? t->result : NULL,
                      value);
}

NNF_API double nnf_progress_get(const nnf_progress *p, nnf_progress_key key)
{
    if (!p || (int)key < 0 || (int)key > NNF_PROGRESS_BEST_VAL_COST)
        return (double)NAN;
    return p->value[key];
}

NNF_API const nnf_net *nnf_progress_net(const nnf_progress *p)
{
    return p ? p->net : NULL;
}

NNF_API uint64_t nnf_net_epochs(const nnf_net *net)
{
    return net ? net->epochs : 0;
}

/* ---- a run */

/* The schedule's factor for the net's epoch e (nnfast.h, nnf_schedule). */
static double schedule(const nnf_trainer *t, uint64_t e)
{
    double d = t->set[NNF_TRAIN_DECAY], span = t->set[NNF_TRAIN_DECAY_EPOCHS], ep = (double)e;
    switch ((nnf_schedule)(int)t->set[NNF_TRAIN_SCHEDULE]) {
    case NNF_SCHEDULE_STEP: return pow(d, floor(ep / span));
    case NNF_SCHEDULE_EXPONENTIAL: return pow(d, ep / span);
    case NNF_SCHEDULE_COSINE: {
        double f = (ep < span ? ep : span) / span;
        return d + (1.0 - d) * (1.0 + cos(3.14159265358979323846 * f)) / 2.0;
    }
    default: return 1.0;
    }
}

/* What a run keeps between its epochs. */
typedef struct run_state {
    nnf_trainer *t;
    nnf_net *net;
    const float *x, *y;
    size_t m, batch;
    size_t *order;
    float *xb, *yb, *best; /* batch buffers; the best epoch's parameters */
    nnf__position at;
    nnf_progress p;
    double best_loss;
    uint64_t best_epoch, since_best;
    int have_best, stop;
} run_state;

/* Call the progress function; 1 when it asks to stop. */
static int report(run_state *r)
{
    if (!r->t->fn)
        return 0;
    r->p.value[NNF_PROGRESS_LEARNING_RATE] = (double)nnf__learning_rate(r->net);
    return r->t->fn(&r->p, r->t->user) != 0;
}

/* One batch of the epoch: gathered in the epoch's order (and through the
 * net's input scaling), one train step. first >= m: an empty step (a net
 * with an exchange function whose others have more batches). */
static nnf_status batch_step(run_state *r, uint64_t epoch, size_t b, double *sum, size_t *seen)
{
    nnf_net *net = r->net;
    size_t first = b * r->batch, n_out = nnf__output_layer(net)->n_out;
    size_t mb = first < r->m ? (r->m - first < r->batch ? r->m - first : r->batch) : 0;
    if (mb) {
        nnf__gather(r->xb, r->x, net->n_in, r->order + first, mb);
        nnf__gather(r->yb, r->y, n_out, r->order + first, mb);
    }
    if (net->scale && mb)
        nnf__standardize(r->xb, r->xb, net->scale, net->scale + net->n_in, net->n_in, mb);
    nnf__pass pass = {1, net->scale != NULL, (uint64_t)r->t->set[NNF_TRAIN_SEED], epoch, b};
    float cost = 0.0f;
    nnf_status st = nnf__step(net, r->xb, r->yb, mb, &cost, &pass, r->t->set[NNF_TRAIN_CLIP_NORM]);
    if (st != NNF_OK)
        return st;
    *sum += (double)cost * (double)mb;
    *seen += mb;
    return NNF_OK;
}

/* The validation set measured (and exchanged): its loss and accuracy into
 * the progress, the best epoch kept. */
static nnf_status validate(run_state *r, uint64_t epoch)
{
    nnf_net *net = r->net;
    nnf__measures s;
    memset(&s, 0, sizeof s);
    if (r->t->vx) {
        nnf_status st = nnf__measure(net, r->t->vx, r->t->vy, r->t->vm, NULL, &s);
        if (st != NNF_OK)
            return nnf__exchange_failure(net, st);
    }
    if (net->exchange) {
        nnf_exchange e;
        memset(&e, 0, sizeof e);
        e.kind = NNF_EXCHANGE_VALIDATION;
        e.loss = s.loss;
        e.samples = s.samples;
        e.correct = s.correct;
        e.answers = s.answers;
        nnf_status st = nnf__exchange(net, &e);
        if (st != NNF_OK)
            return st;
        s.loss = e.loss;
        s.samples = e.samples;
        s.correct = e.correct;
        s.answers = e.answers;
    }
    if (!(s.samples > 0.0))
        return NNF_OK; /* no validation anywhere */
    double loss = s.loss / s.samples;
    r->p.value[NNF_PROGRESS_VAL_COST] = loss;
    r->p.value[NNF_PROGRESS_VAL_ACCURACY] = s.answers > 0.0 ? s.correct / s.answers : (double)NAN;
    if (!r->have_best || loss < r->best_loss) {
        r->have_best = 1;
        r->best_loss = loss;
        r->best_epoch = epoch;
        r->since_best = 0;
        if (r->best)
            memcpy(r->best, net->params, net->n_floats * sizeof(float));
    } else {
        r->since_best++;
    }
    r->p.value[NNF_PROGRESS_BEST_EPOCH] = (double)r->best_epoch;
    r->p.value[NNF_PROGRESS_BEST_VAL_COST] = r->best_loss;
    return NNF_OK;
}

static nnf_status epoch(run_state *r)
{
    nnf_net *net = r->net;
    uint64_t e = net->epochs;
    size_t batches = (r->m + r->batch - 1) / r->batch;
    if (net->exchange) { /* the others may have more batches: this net then steps empty */
        nnf_exchange ex;
        memset(&ex, 0, sizeof ex);
        ex.kind = NNF_EXCHANGE_EPOCH;
        ex.batches = batches;
        nnf_status st = nnf__exchange(net, &ex);
        if (st != NNF_OK)
            return st;
        batches = ex.batches > batches ? ex.batches : batches;
    }
    /* the epoch's order is a function of (seed, e) alone */
    nnf__rng rng;
    nnf__rng_seed(&rng, (uint64_t)r->t->set[NNF_TRAIN_SEED], NNF__SHUFFLE_STREAM ^ nnf__rng_mix(e));
    for (size_t i = 0; i < r->m; i++)
        r->order[i] = i;
    nnf__shuffle(r->order, r->m, &rng);
    net->lr_scale = schedule(r->t, e);

    double sum = 0.0;
    size_t seen = 0;
    r->p.value[NNF_PROGRESS_EPOCH] = (double)e;
    r->p.value[NNF_PROGRESS_BATCHES_PER_EPOCH] = (double)batches;
    r->p.value[NNF_PROGRESS_EPOCH_END] = 0.0;
    r->at.epoch = (size_t)e;
    for (size_t b = 0; b < batches; b++) {
        r->at.batch = b;
        nnf_status st = batch_step(r, e, b, &sum, &seen);
        if (st != NNF_OK)
            return st;
        r->p.value[NNF_PROGRESS_BATCH] = (double)b;
        r->p.value[NNF_PROGRESS_COST] = seen ? sum / (double)seen : (double)NAN;
        if (report(r)) {
            r->stop = 1;
            return NNF_OK; /* an epoch cut short is not counted */
        }
    }
    net->epochs++;
    r->t->result[NNF_RESULT_EPOCHS_RUN] += 1.0;
    r->t->result[NNF_RESULT_LAST_COST] = r->p.value[NNF_PROGRESS_COST];
    nnf__call_where(NULL, NULL);
    nnf_status st = validate(r, e);
    nnf__call_where(nnf__where_in_run, &r->at);
    if (st != NNF_OK)
        return st;
    r->p.value[NNF_PROGRESS_EPOCH_END] = 1.0;
    if (report(r))
        r->stop = 1;
    uint64_t patience = (uint64_t)r->t->set[NNF_TRAIN_PATIENCE];
    if (patience && r->have_best && r->since_best >= patience) {
        r->t->result[NNF_RESULT_STOPPED_EARLY] = 1.0;
        r->stop = 1;
    }
    return NNF_OK;
}

/* The data and the validation set checked before the first step: bad data
 * fails here, not in epoch 3. */
static nnf_status check_data(const nnf_trainer *t, const nnf_net *net, const float *x,
                             const float *y, size_t m)
{
    nnf_status st = NNF_OK;
    if (m == 0 && !net->exchange)
        st = nnf__fail(NNF_ERR_ARG, "m is 0 (expected at least one sample)");
    else if (m > 0) {
        st = nnf__check_labeled_batch(net, x, y, m);
        if (st == NNF_OK)
            st = nnf__check_finite("x", x, net->n_in, m);
    } else if (!net->depth)
        st = nnf__fail(NNF_ERR_STATE, "the net has no layer (add one with nnf_net_add_dense)");
    if (st == NNF_OK && t->vx) {
        nnf__call_where(NULL, NULL);
        st = nnf__check_labeled_batch(net, t->vx, t->vy, t->vm);
        if (st == NNF_OK)
            st = nnf__check_finite("the validation x", t->vx, net->n_in, t->vm);
    }
    return st;
}

static nnf_status run(nnf_trainer *t, nnf_net *net, const float *x, const float *y, size_t m)
{
    nnf_status st = nnf__check_changeable(net);
    if (st == NNF_OK)
        st = check_data(t, net, x, y, m);
    if (st != NNF_OK)
        return nnf__exchange_failure(net, st);
    run_state r;
    memset(&r, 0, sizeof r);
    r.t = t;
    r.net = net;
    r.x = x;
    r.y = y;
    r.m = m;
    size_t want = (size_t)t->set[NNF_TRAIN_BATCH_SIZE];
    r.batch = m && want > m ? m : want;
    r.p.net = net;
    for (int k = 0; k <= NNF_PROGRESS_BEST_VAL_COST; k++)
        r.p.value[k] = (double)NAN;
    for (int k = 0; k < N_RESULTS; k++)
        t->result[k] = 0.0;
    t->result[NNF_RESULT_BEST_EPOCH] = t->result[NNF_RESULT_BEST_VAL_COST] = (double)NAN;
    t->result[NNF_RESULT_LAST_COST] = (double)NAN;

    /* everything is allocated before the first step: NNF_ERR_NOMEM changes nothing */
    st = nnf__batches_alloc(net, m ? m : 1, r.batch, &r.order, &r.xb, &r.yb);
    int keep_best = t->set[NNF_TRAIN_RESTORE_BEST] != 0.0 && (t->vx || net->exchange);
    if (st == NNF_OK && keep_best && !(r.best = nnf__malloc(net->n_floats * sizeof(float))))
        st = nnf__fail(NNF_ERR_NOMEM, "could not allocate %zu bytes for the best parameters",
                       net->n_floats * sizeof(float));
    /* the workspace for the batches and for the validation's chunks */
    size_t chunk = t->vx ? (t->vm < 256 ? t->vm : 256) : 0;
    if (st == NNF_OK)
        st = nnf__step_prepare(net, r.batch > chunk ? r.batch : chunk);
    if (st != NNF_OK)
        st = nnf__exchange_failure(net, st);

    net->training = 1;
    nnf__call_where(nnf__where_in_run, &r.at);
    uint64_t epochs = (uint64_t)t->set[NNF_TRAIN_EPOCHS];
    for (uint64_t k = 0; st == NNF_OK && !r.stop && k < epochs; k++)
        st = epoch(&r);
    nnf__call_where(NULL, NULL);
    net->training = 0;
    net->lr_scale = 1.0;

    if (r.have_best) {
        t->result[NNF_RESULT_BEST_EPOCH] = (double)r.best_epoch;
        t->result[NNF_RESULT_BEST_VAL_COST] = r.best_loss;
    }
    if (st == NNF_OK && r.best && r.have_best && r.best_epoch + 1 != net->epochs) {
        memcpy(net->params, r.best, net->n_floats * sizeof(float));
        nnf__forget_passes(net); /* the gradients were those of another epoch */
        t->result[NNF_RESULT_RESTORED] = 1.0;
    }
    nnf__free(r.order);
    nnf__free(r.xb);
    nnf__free(r.yb);
    nnf__free(r.best);
    return st;
}

NNF_API nnf_status nnf_trainer_run(nnf_trainer *t, nnf_net *net, const float *x, const float *y,
                                   size_t m)
{
    nnf__call c;
    nnf_status st = enter(&c, __func__, t);
    if (st == NNF_OK && !net)
        st = nnf__fail(NNF_ERR_ARG, "net is NULL");
    if (st == NNF_OK) {
        /* and a call on the net, whose failures are stored in the net (and
         * copied to the trainer) */
        nnf__call cn;
        st = nnf__enter_compute(&cn, __func__, net);
        if (st == NNF_OK)
            st = run(t, net, x, y, m);
        st = nnf__leave(&cn, st);
        if (st != NNF_OK)
            (void)snprintf(t->errmsg, sizeof t->errmsg, "%s", nnf_net_errmsg(net));
    }
    return nnf__leave(&c, st);
}
