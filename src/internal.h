/* internal.h - the objects behind the opaque handles, and the nnf__
 * functions shared between src/ files. Not installed. */
#ifndef NNF_INTERNAL_H
#define NNF_INTERNAL_H

#include "nnfast.h"
#include "core/core.h"

#include <assert.h>
#include <stddef.h>

/* A dense layer. Its parameters and gradients live in the net's two arenas
 * (same layout: per layer Wt then b), its activations in the net's workspace;
 * the pointers below are refreshed whenever those blocks move. */
struct nnf_layer {
    nnf_net *net;
    size_t index;          /* l, 1..L */
    size_t n_in, n_out;    /* n[l-1], n[l] */
    int act;               /* nnf_act */
    float alpha;           /* leaky ReLU slope */
    size_t offset;         /* of Wt in the arenas; b follows at offset + n_in*n_out */
    float *wt, *b;         /* parameters: Wt is the user's w[n_out][n_in] */
    float *dwt, *db;       /* gradients, same layout */
    float *a;              /* A[l] (n_out x m), and dZ[l] during backward */
};

struct nnf_net {
    size_t n_in;
    size_t depth, layers_cap;
    nnf_layer **layers;     /* layers[0] is layer 1 */
    nnf_loss loss;
    double lr;
    uint64_t seed;

    /* Optimizer (optim.c). opt_state has the arenas' layout: for momentum
     * v (n_params floats), for Adam m then v (2 n_params); NULL for SGD. */
    nnf_optimizer optimizer;
    double momentum, beta1, beta2, epsilon;
    double l2;              /* lambda of the L2 penalty */
    uint64_t opt_t;         /* updates made since the state was reset */
    float *opt_state;

    size_t n_params;        /* floats in each arena */
    float *params, *grads;

    /* Workspace, one block for cap_m columns: A[l] per layer, the output
     * logits Z[L], and one scratch matrix for dA[l-1] in backward. */
    size_t cap_m;
    float *work;
    float *logits, *scratch;
    size_t x_cap;           /* floats in x_copy (nnf_net_forward only) */
    float *x_copy;

    /* State of the last calls. */
    size_t fwd_m;           /* batch of the stored forward pass; 0: none */
    const float *fwd_x;     /* its A[0] */
    int grads_valid;        /* a backward succeeded since the last change */
    int grads_applied;      /* and nnf_net_update used its gradients */

    char errmsg[256];
};

/* alloc.c */
void *nnf__malloc(size_t size);
void nnf__free(void *ptr);

/* status.c: record a failure on net (if not NULL) and return st. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
nnf_status nnf__fail(nnf_net *net, nnf_status st, const char *fmt, ...);

/* net.c */
nnf_status nnf__net_create(nnf_net **out, size_t n_in);
void nnf__net_destroy(nnf_net *net);
nnf_status nnf__net_add_layer(nnf_net *net, size_t units, int act);
nnf_status nnf__net_reserve(nnf_net *net, const char *fn, size_t m);
float *nnf__net_work_alloc(nnf_net *net, const char *fn, size_t m, nnf_status *st);
void nnf__net_work_install(nnf_net *net, float *work, size_t m);
void nnf__net_forget(nnf_net *net);
nnf_status nnf__net_forward(nnf_net *net, const char *fn, const float *x, size_t m);
nnf_status nnf__net_backward(nnf_net *net, const float *y, float *cost);
nnf_status nnf__net_check_grads(nnf_net *net);
size_t nnf__net_layer_of(const nnf_net *net, size_t i);
nnf_status nnf__net_update(nnf_net *net);
const float *nnf__net_output(const nnf_net *net);

nnf_status nnf__net_step(nnf_net *net, const char *fn, const float *x, const float *y,
                         size_t m, float *cost);
double nnf__net_loss_sum(nnf_net *net, const float *y, size_t m);
nnf_status nnf__net_clone(const nnf_net *net, nnf_net **out);

/* optim.c */
size_t nnf__optim_state_floats(nnf_optimizer opt, size_t n_params);
nnf_status nnf__optim_reset(nnf_net *net, nnf_optimizer opt);
nnf_status nnf__optim_update(nnf_net *net);
double nnf__l2_apply(nnf_net *net, size_t m);

/* train.c: mini-batches and evaluation; arguments checked by api.c */
nnf_status nnf__train(nnf_net *net, const float *x, const float *y, size_t m, size_t batch,
                      size_t epochs, int shuffle, uint64_t seed, nnf_progress_fn progress,
                      void *user, size_t *steps);
nnf_status nnf__evaluate(nnf_net *net, const float *x, const float *y, size_t m, float *cost,
                         float *accuracy);

/* serialize.c: the format of docs/format.md; io.c: files */
size_t nnf__saved_size(const nnf_net *net, unsigned flags);
void nnf__save_mem(const nnf_net *net, unsigned char *buf, unsigned flags);
nnf_status nnf__load_mem(nnf_net **out, const unsigned char *buf, size_t size, char *errbuf,
                         size_t errbuf_size);
nnf_status nnf__save_file(nnf_net *net, const char *path, unsigned flags);
nnf_status nnf__load_file(nnf_net **out, const char *path, char *errbuf, size_t errbuf_size);

/* dense.c */
int nnf__dense_forward(const nnf_layer *layer, const float *a_in, float *z, float *a, size_t m);
void nnf__dense_backward(nnf_layer *layer, const float *a_in, const float *dz,
                         float *da_in, size_t m);

/* init.c */
void nnf__layer_init(nnf_layer *layer, nnf_init scheme, uint64_t seed);

#endif /* NNF_INTERNAL_H */
