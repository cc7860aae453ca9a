/* SPDX-License-Identifier: MIT */
/*
 * nnfast.h - fully-connected neural networks at the speed of BLAS.
 *
 * This header is the whole public API and its reference manual.
 *
 * ABI promise: every 1.x release of libnnfast.so.1 runs programs built
 * against any earlier 1.x header. Functions and enum values are only ever
 * added (with explicit numbers); no signature or meaning changes.
 *
 * Data layout (the one convention of the API)
 * -------------------------------------------
 * A batch of m samples of n features is a C array `float x[m][n]`: sample
 * after sample, each sample's features contiguous. In BLAS terms it is a
 * column-major n x m matrix X whose column i is sample i (docs/math.md's X = A[0]).
 * Outputs and labels are `float y[m][n_L]` in the same way.
 *
 * The weights of a layer with n_l units and n_{l-1} inputs are a C array
 * `float w[n_l][n_{l-1}]`: row j holds unit j's weights (docs/math.md's W[l],
 * the same memory as PyTorch's nn.Linear.weight). Biases are `float b[n_l]`.
 *
 * Errors
 * ------
 * Every fallible call returns an nnf_status, and a message that starts with
 * the call's name says what was wrong (nnf_net_errmsg(), or the errbuf of
 * the load calls). A failed call changes no parameter and no setting: after
 * a failed nnf_net_train_step() every weight and bias is bit-identical to
 * before. Two calls say what else a failure leaves: nnf_net_forward()
 * discards the stored forward pass when its result is not finite, and
 * nnf_net_train() keeps the steps it made before the failing one. The
 * library never prints and never exits or aborts.
 *
 * Threads
 * -------
 * Distinct nets are independent and may be used from different threads at
 * once. To predict from many threads with one net, give each thread an
 * inference context (nnf_ctx_create()): every context predicts at once with
 * the net's one copy of the weights (docs/serving.md); for parallel training
 * give each thread its own net (nnf_net_clone()). One net may be read by several threads at once
 * while no thread changes it: nnf_net_clone, nnf_net_save, nnf_net_save_mem,
 * nnf_net_saved_size and the get calls that return a status. A call that
 * changes a net, or uses its workspace (forward, backward, update, train
 * step, predict, train, evaluate, every set call, nnf_net_add_dense,
 * nnf_net_init), needs it to itself. Breaking that rule is detected, never
 * silent: a call that finds another thread inside the net fails with
 * NNF_ERR_STATE ("net is in use by another thread") and changes nothing.
 * The calls that return a plain value (nnf_net_depth, nnf_layer_units, ...)
 * and nnf_net_destroy are not checked: do not call them on a net another
 * thread is changing. The message of a failed call that only reads a net is
 * kept by the calling thread (nnf_net_errmsg() on that thread returns it);
 * a call that may change the net also stores its message in the net.
 *
 * Many threads computing at once each call the BLAS. OpenBLAS serves a fixed
 * number of them at once (two per thread it was built for: MAX_THREADS in
 * openblas_get_config(), 64 in Debian's build) and aborts the process past
 * that; nnfast counts its computing calls and refuses the ones beyond with
 * NNF_ERR_STATE. With many threads each computing, set nnf_set_threads(1):
 * each thread then computes on its own core, without waiting for nnfast's
 * shared threads. The allocator hook and the thread count are process-wide
 * and are set before nets are used from several threads.
 */
#ifndef NNFAST_H
#define NNFAST_H

/* The header is laid out by hand, as the reference manual it is. */
/* clang-format off */

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#  if defined(NNFAST_BUILDING)
#    define NNF_API __declspec(dllexport)
#  else
#    define NNF_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define NNF_API __attribute__((visibility("default")))
#else
#  define NNF_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** @name Version (this header is the one source of the version)
 *  @{ */
#define NNF_VERSION_MAJOR 1
#define NNF_VERSION_MINOR 3
#define NNF_VERSION_PATCH 0
/** MAJOR * 10000 + MINOR * 100 + PATCH, as nnf_version_number() returns. */
#define NNF_VERSION_NUMBER \
    (NNF_VERSION_MAJOR * 10000 + NNF_VERSION_MINOR * 100 + NNF_VERSION_PATCH)
/** @} */

/** A network: owns its layers, parameters, gradients and workspace. */
typedef struct nnf_net nnf_net;
/** How to train a net: settings, validation set, progress (nnf_trainer_run). */
typedef struct nnf_trainer nnf_trainer;
/** A layer, borrowed from its net; valid until nnf_net_destroy(). */
typedef struct nnf_layer nnf_layer;

/** Status of every fallible call. Values are fixed; new ones are appended. */
typedef enum nnf_status {
    NNF_OK = 0,          /**< success */
    NNF_ERR_ARG = 1,     /**< NULL pointer, zero size, unknown enum value,
                              setting out of range or not finite, BCE label
                              outside [0, 1] */
    NNF_ERR_SHAPE = 2,   /**< sizes that do not fit together, or too large
                              (overflow of size_t or of BLAS's int) */
    NNF_ERR_NOMEM = 3,   /**< an allocation failed */
    NNF_ERR_STATE = 4,   /**< call out of order, settings that conflict, a net
                              in use by another thread, or more threads
                              computing at once than the BLAS serves */
    NNF_ERR_NUMERIC = 5, /**< NaN or infinity in the data, or a step whose
                              cost or gradients are not finite */
    NNF_ERR_IO = 6,      /**< reading or writing a file failed */
    NNF_ERR_FORMAT = 7   /**< malformed serialized data */
} nnf_status;

/** Activation of a layer, g in docs/math.md. */
typedef enum nnf_act {
    NNF_ACT_LINEAR = 0,    /**< g(z) = z */
    NNF_ACT_SIGMOID = 1,   /**< g(z) = 1 / (1 + e^-z) */
    NNF_ACT_TANH = 2,      /**< g(z) = tanh(z) */
    NNF_ACT_RELU = 3,      /**< g(z) = max(0, z); g'(0) = 0 */
    NNF_ACT_LEAKY_RELU = 4, /**< g(z) = z if z > 0 else alpha z; alpha per layer */
    NNF_ACT_SOFTMAX = 5    /**< a_k = e^z_k / sum_j e^z_j per sample; output
                                layer only, with NNF_LOSS_CROSS_ENTROPY. Since 1.2 */
} nnf_act;

/** Loss of a net; the cost J is the mean over samples of the per-sample
 *  loss summed over output units. */
typedef enum nnf_loss {
    NNF_LOSS_BCE = 0, /**< binary cross-entropy; needs a sigmoid output layer
                           and labels in [0, 1] */
    NNF_LOSS_MSE = 1, /**< L = 1/2 sum_k (a_k - y_k)^2 per sample */
    NNF_LOSS_CROSS_ENTROPY = 2 /**< categorical: L = -sum_k y_k log a_k; needs a
                                    softmax output layer and labels in [0, 1]
                                    (one-hot rows, or any rows: the gradient
                                    is dZ = A sum_k y_k - Y, which is A - Y
                                    for rows summing to 1). Since 1.2 */
} nnf_loss;

/** Keys of nnf_net_set_param() / nnf_net_get_param(). */
typedef enum nnf_param {
    NNF_PARAM_LEARNING_RATE = 0, /**< alpha of the update; finite, > 0 and not
                                      so small that it is 0 as a float
                                      (below about 1.4e-45); default 0.01 */
    NNF_PARAM_OPTIMIZER = 1,     /**< an nnf_optimizer value; default
                                      NNF_OPT_SGD. Choosing another optimizer
                                      resets the state (choosing the current
                                      one keeps it), as do nnf_net_init() and
                                      adding a layer. Since 1.2 */
    NNF_PARAM_MOMENTUM = 2,      /**< beta of NNF_OPT_MOMENTUM, 0 <= beta < 1;
                                      default 0.9. Since 1.2 */
    NNF_PARAM_ADAM_BETA1 = 3,    /**< Adam's beta1, 0 <= beta1 < 1; default 0.9.
                                      Since 1.2 */
    NNF_PARAM_ADAM_BETA2 = 4,    /**< Adam's beta2, 0 <= beta2 < 1; default
                                      0.999. Since 1.2 */
    NNF_PARAM_ADAM_EPSILON = 5,  /**< Adam's epsilon, finite, > 0; default 1e-8.
                                      A value below FLT_MIN acts as FLT_MIN.
                                      Since 1.2 */
    NNF_PARAM_L2_PENALTY = 6,    /**< lambda of the L2 penalty added to the cost
                                      (coupled, as in the course, not decoupled
                                      weight decay): J += lambda/(2m) sum_l
                                      ||W[l]||^2 and dW[l] += (lambda/m) W[l];
                                      biases are not penalized. Finite, 0 or
                                      not so small that it is 0 as a float;
                                      default 0. Since 1.2 */
    NNF_PARAM_WEIGHT_DECAY = 7   /**< decoupled weight decay of NNF_OPT_ADAMW:
                                      each update first scales every weight by
                                      (1 - alpha decay); biases are not decayed.
                                      Finite, >= 0; default 0.01. Other
                                      optimizers ignore it. Since 1.3 */
} nnf_param;

/** Optimizers, the value of NNF_PARAM_OPTIMIZER. With g = dW (or db) of the
 *  last backward, alpha the learning rate, t the number of updates made with
 *  this optimizer (1 at the first):
 *  - NNF_OPT_SGD:      W -= alpha g
 *  - NNF_OPT_MOMENTUM: v = beta v + (1 - beta) g;  W -= alpha v   (v starts at 0)
 *  - NNF_OPT_ADAM:     m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2;
 *                      W -= alpha (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + epsilon)
 *  - NNF_OPT_ADAMW:    W = (1 - alpha decay) W, then Adam's step; b: Adam's
 *                      step alone (decay is NNF_PARAM_WEIGHT_DECAY)
 *  Since 1.2; NNF_OPT_ADAMW since 1.3. */
typedef enum nnf_optimizer {
    NNF_OPT_SGD = 0,
    NNF_OPT_MOMENTUM = 1,
    NNF_OPT_ADAM = 2,
    NNF_OPT_ADAMW = 3
} nnf_optimizer;

/** Weight initialization schemes of nnf_net_init(). Biases start at 0.
 *  N(0,1) draws come from nnfast's own seeded generator, computed with
 *  basic IEEE-754 arithmetic only, so a seed gives bit-identical weights
 *  on every machine. */
typedef enum nnf_init {
    NNF_INIT_DEFAULT = 0,      /**< HE for ReLU and leaky ReLU layers,
                                    XAVIER for the others */
    NNF_INIT_HE = 1,           /**< N(0,1) * sqrt(2 / n_{l-1}) */
    NNF_INIT_XAVIER = 2,       /**< N(0,1) * sqrt(2 / (n_{l-1} + n_l)) (Glorot) */
    NNF_INIT_SMALL_NORMAL = 3  /**< N(0,1) * 0.01 (the course's first scheme) */
} nnf_init;

/** The most layers a net can have (a saved model stores at most this many).
 *  Since 1.2. */
#define NNF_MAX_DEPTH 65535u

/** The seed nnf_net_add_dense() initializes with until nnf_net_init()
 *  chooses another. */
#define NNF_DEFAULT_SEED UINT64_C(0)

/** @name Library
 *  @{ */

/** The run-time library's version, as NNF_VERSION_NUMBER (10000 for 1.0.0). */
NNF_API unsigned nnf_version_number(void);
/** The run-time library's version as static text, e.g. "1.0.0". */
NNF_API const char *nnf_version_string(void);

/** Static English text for a status; never NULL (unknown values give
 *  "unknown status"). */
NNF_API const char *nnf_status_str(nnf_status status);

/** Allocation function of the hook: returns size bytes aligned for any
 *  type (as malloc does), or NULL. user is the pointer given to
 *  nnf_set_allocator(). */
typedef void *(*nnf_alloc_fn)(void *user, size_t size);
/** Free function of the hook: releases a block from the matching
 *  nnf_alloc_fn; never called with NULL. */
typedef void (*nnf_free_fn)(void *user, void *ptr);

/** Route every allocation of the library through alloc_fn / free_fn
 *  (both NULL restores malloc/free). Global: call it before any other
 *  nnfast call, while no net exists, and not concurrently with anything.
 *  Returns NNF_ERR_ARG when exactly one of the two is NULL, NNF_ERR_STATE
 *  (the hook unchanged) while blocks of the current hook are still live:
 *  a net, or anything else the library holds. */
NNF_API nnf_status nnf_set_allocator(nnf_alloc_fn alloc_fn, nnf_free_fn free_fn,
                                     void *user);

/** Compute on n threads: the calling thread and n - 1 of nnfast's own.
 *  Each large product is cut into blocks (by its shapes alone) and its
 *  blocks, the elementwise passes and the update run on those threads at
 *  once; small work runs on the calling thread. The BLAS runs every call on
 *  one thread: nnfast sets OpenBLAS's thread count to 1 when it first
 *  computes, and again whenever it finds it changed. Results do not depend
 *  on n: the same seed gives the same bits at any thread count (unless
 *  nnf_set_plan_mode(NNF_PLAN_FASTEST) says otherwise). Global to
 *  the process; call it while no net is computing. The default is the
 *  BLAS's default thread count when nnfast first computes
 *  (OPENBLAS_NUM_THREADS, else every core). When several threads compute
 *  at once, one of them has nnfast's threads and the others compute on
 *  their own thread. Returns NNF_ERR_ARG for n < 1. Since 1.1. */
NNF_API nnf_status nnf_set_threads(int n);
/** The thread count products run with (see nnf_set_threads()). Since 1.1. */
NNF_API int nnf_get_threads(void);

/** How large products are cut into blocks for nnfast's threads. Since 1.3. */
typedef enum nnf_plan_mode {
    NNF_PLAN_REPRODUCIBLE = 0, /**< default: by the shapes and the machine's
                                    cores alone, so results are bit-identical
                                    at any nnf_set_threads() count */
    NNF_PLAN_FASTEST = 1       /**< by the shapes and the thread count: one
                                    cblas_sgemm per product at one thread
                                    (measured 4-18% faster per product than
                                    the reproducible cut on one core, see
                                    docs/performance.md); results then
                                    differ between thread counts in their
                                    last bits */
} nnf_plan_mode;

/** Choose the plan mode, process-wide, while no net is computing.
 *  NNF_ERR_ARG for a value that is not an nnf_plan_mode. Since 1.3. */
NNF_API nnf_status nnf_set_plan_mode(nnf_plan_mode mode);
/** The plan mode in force. Since 1.3. */
NNF_API nnf_plan_mode nnf_get_plan_mode(void);
/** @} */

/** @name Network
 *  @{ */

/** Detail of the last failed call on net, e.g.
 *  "nnf_net_forward: x[3][1] is nan (expected a finite value)"; "" when none
 *  has failed. In a thread whose own last failure was on net, that
 *  failure's message; otherwise the last failure of a call that may change
 *  net. Valid until the next failing call on net. net NULL gives a static
 *  text. */
NNF_API const char *nnf_net_errmsg(const nnf_net *net);
/** Record a failure of a call of a library built on nnfast (nnfast_mpi.h)
 *  on net: msg, which should start with that call's name, becomes net's
 *  message (nnf_net_errmsg()) as a failed nnfast call's would. Returns
 *  status; NNF_ERR_ARG (net's message then says why) for a NULL msg or a
 *  status that is not a failure. Changes nothing else. Since 1.3. */
NNF_API nnf_status nnf_net_report(nnf_net *net, nnf_status status, const char *msg);

/** Create an empty network for inputs of n_inputs features, with loss BCE,
 *  learning rate 0.01 and seed NNF_DEFAULT_SEED.
 *  Returns NNF_OK, NNF_ERR_ARG (out NULL, n_inputs 0), NNF_ERR_SHAPE
 *  (n_inputs above INT_MAX) or NNF_ERR_NOMEM; *out is NULL on failure. */
NNF_API nnf_status nnf_net_create(nnf_net **out, size_t n_inputs);

/** Free the net, its layers and all its memory. NULL is a no-op. The handle
 *  is gone for the caller at once; while inference contexts of the net are
 *  alive, its layers and parameters stay until the last context is
 *  destroyed (its gradients, optimizer state and workspace go now), so
 *  contexts and net may be destroyed in either order. */
NNF_API void nnf_net_destroy(nnf_net *net);

/** Give back the net's workspace (the activations of the largest batch seen,
 *  and nnf_net_forward()'s copy of x) and any spare room of its parameter
 *  arena; the stored forward pass is discarded. Parameters, gradients and
 *  optimizer state stay. The next call that computes sizes the workspace
 *  again for its batch. For a net that served one large batch and now
 *  serves small ones. Returns NNF_ERR_ARG (net NULL) or NNF_ERR_STATE (used
 *  by another thread). Since 1.3. */
NNF_API nnf_status nnf_net_trim(nnf_net *net);

/** Append a dense layer of units units with activation act, fed by the
 *  previous layer (or the input). Its weights are initialized as
 *  NNF_INIT_DEFAULT with the net's seed and the layer's index, its biases
 *  to 0. *layer (if layer is not NULL) receives the new layer.
 *  Adding a layer discards a stored forward pass and gradients.
 *  Returns NNF_ERR_ARG (units 0, unknown act), NNF_ERR_SHAPE (units above
 *  INT_MAX, parameter count overflow, more than NNF_MAX_DEPTH layers),
 *  NNF_ERR_STATE (a layer after a softmax layer) or NNF_ERR_NOMEM. */
NNF_API nnf_status nnf_net_add_dense(nnf_net *net, size_t units, nnf_act act,
                                     nnf_layer **layer);

/** Number of layers with weights, L. 0 for NULL. */
NNF_API size_t nnf_net_depth(const nnf_net *net);

/** Layer l, for l = 1..L as in docs/math.md; NULL outside that range. */
NNF_API nnf_layer *nnf_net_layer(nnf_net *net, size_t l);

/** Number of input features n[0]; 0 for NULL. */
NNF_API size_t nnf_net_inputs(const nnf_net *net);

/** Number of output units n[L] (0 when the net has no layer or is NULL). */
NNF_API size_t nnf_net_outputs(const nnf_net *net);

/** Choose the loss (default NNF_LOSS_BCE). BCE needs a sigmoid output
 *  layer; this is checked when the loss is used (nnf_net_backward(),
 *  nnf_net_train_step()), which then fail with NNF_ERR_STATE.
 *  Returns NNF_ERR_ARG for an unknown loss. */
NNF_API nnf_status nnf_net_set_loss(nnf_net *net, nnf_loss loss);

/** The net's loss through *loss. Returns NNF_ERR_ARG for a NULL argument. */
NNF_API nnf_status nnf_net_get_loss(const nnf_net *net, nnf_loss *loss);

/** Set a hyper-parameter (see nnf_param for keys and ranges).
 *  Returns NNF_ERR_ARG for an unknown key or a value out of range. */
NNF_API nnf_status nnf_net_set_param(nnf_net *net, nnf_param key, double value);

/** Read a hyper-parameter into *value. NNF_ERR_ARG for an unknown key. */
NNF_API nnf_status nnf_net_get_param(const nnf_net *net, nnf_param key,
                                     double *value);

/** Re-initialize every layer's weights with scheme from seed (biases to 0)
 *  and make seed the net's seed for layers added later. Layer l draws from
 *  its own stream derived from (seed, l), so the result does not depend on
 *  when layers were added. Discards a stored forward pass and gradients.
 *  Returns NNF_ERR_ARG for an unknown scheme. */
NNF_API nnf_status nnf_net_init(nnf_net *net, nnf_init scheme, uint64_t seed);
/** @} */

/** @name Layer
 *  @{ */

/** Units of the layer, n[l]; 0 for NULL. */
NNF_API size_t nnf_layer_units(const nnf_layer *layer);
/** Inputs of the layer, n[l-1]; 0 for NULL. */
NNF_API size_t nnf_layer_inputs(const nnf_layer *layer);
/** Activation of the layer; NNF_ACT_LINEAR for NULL. */
NNF_API nnf_act nnf_layer_act(const nnf_layer *layer);

/** Slope alpha of a leaky ReLU layer for z <= 0, with 0 < alpha < 1
 *  (default 0.01). NNF_ERR_ARG for alpha out of range or not finite,
 *  NNF_ERR_STATE for a layer that is not leaky ReLU. */
NNF_API nnf_status nnf_layer_set_slope(nnf_layer *layer, float alpha);
/** The slope of a leaky ReLU layer through *alpha. */
NNF_API nnf_status nnf_layer_get_slope(const nnf_layer *layer, float *alpha);

/** Copy the weights out to w, a `float w[n_l][n_{l-1}]` (row j = unit j). */
NNF_API nnf_status nnf_layer_get_weights(const nnf_layer *layer, float *w);
/** Copy weights in from w, laid out as in nnf_layer_get_weights().
 *  NNF_ERR_NUMERIC if any value is NaN or infinite (nothing is changed).
 *  Discards a stored forward pass (its backward would need the old W). */
NNF_API nnf_status nnf_layer_set_weights(nnf_layer *layer, const float *w);
/** Copy the n_l biases out to b. */
NNF_API nnf_status nnf_layer_get_bias(const nnf_layer *layer, float *b);
/** Copy n_l biases in from b; NNF_ERR_NUMERIC for a non-finite value.
 *  Discards a stored forward pass. */
NNF_API nnf_status nnf_layer_set_bias(nnf_layer *layer, const float *b);
/** dW of the last successful nnf_net_backward() (or train step), laid out
 *  as the weights. NNF_ERR_STATE when there is none. */
NNF_API nnf_status nnf_layer_get_weight_grad(const nnf_layer *layer, float *dw);
/** db of the last successful backward, n_l floats. NNF_ERR_STATE when none. */
NNF_API nnf_status nnf_layer_get_bias_grad(const nnf_layer *layer, float *db);

/** Inverted dropout on the layer's output in training passes
 *  (nnf_net_forward, nnf_net_train_step, nnf_net_train, nnf_trainer_run):
 *  each unit of each sample is dropped (its activation set to 0) with
 *  probability rate, and the kept ones are scaled by 1 / (1 - rate), so that
 *  prediction, evaluation, gradient checking and contexts, which never
 *  drop, see the same expected activation. 0 <= rate < 1; default 0, which
 *  is bit-identical to no dropout. The masks are a function of (seed,
 *  epoch, batch, layer, unit, sample): the trainer's seed and position in
 *  a trainer, the net's seed, trained epochs and a count of its other
 *  training passes outside one (docs/math.md). Saved in the model.
 *  NNF_ERR_ARG for a rate out of range or not finite; NNF_ERR_STATE for the
 *  output layer (dropout is for hidden layers: add the next layer first).
 *  Discards a stored forward pass. Since 1.3. */
NNF_API nnf_status nnf_layer_set_dropout(nnf_layer *layer, float rate);
/** The layer's dropout rate through *rate. Since 1.3. */
NNF_API nnf_status nnf_layer_get_dropout(const nnf_layer *layer, float *rate);
/** @} */

/** @name Training and inference
 *
 * Workspace is sized at the first call for a batch size and reused: a call
 * with m no larger than any m used before on this net allocates nothing.
 *  @{ */

/** Forward propagation of the batch x (`float x[m][n_0]`), keeping what
 *  nnf_net_backward() needs (including a copy of x). If y is not NULL the
 *  output A[L] is written to it (`float y[m][n_L]`).
 *  Returns NNF_ERR_ARG (x NULL, m 0), NNF_ERR_STATE (no layer),
 *  NNF_ERR_SHAPE (m too large), NNF_ERR_NUMERIC (NaN/inf in x, or a
 *  non-finite output: the stored forward pass is then discarded) or
 *  NNF_ERR_NOMEM. */
NNF_API nnf_status nnf_net_forward(nnf_net *net, const float *x, size_t m,
                                   float *y);

/** Backward propagation for the last forward pass, against labels y
 *  (`float y[m][n_L]`, m of that forward). Stores dW and db of every layer
 *  (the gradients are allocated at the first backward, or the first after
 *  a layer was added: NNF_ERR_NOMEM then keeps the forward pass);
 *  *cost (if cost is not NULL) receives J. Parameters do not change.
 *  The stored forward pass is used up (its buffers hold dZ afterwards): a
 *  second backward needs a new forward.
 *  Returns NNF_ERR_ARG (y NULL, BCE label outside [0, 1]), NNF_ERR_STATE
 *  (no forward pass; BCE without a sigmoid output), NNF_ERR_NUMERIC (NaN/inf
 *  in y, with the forward pass kept; a cost or gradient that is not finite:
 *  no gradient is then kept). */
NNF_API nnf_status nnf_net_backward(nnf_net *net, const float *y, float *cost);

/** One step of the net's optimizer with the gradients of the last backward
 *  (for the default NNF_OPT_SGD: W -= alpha dW, b -= alpha db; see
 *  nnf_optimizer). Each backward's gradients are applied once: a second
 *  update without a new backward is NNF_ERR_STATE. NNF_ERR_NUMERIC, with
 *  nothing written, when a parameter or the optimizer's state would become
 *  NaN or infinite; NNF_ERR_NOMEM, with nothing written, when the state of
 *  a momentum or Adam optimizer cannot be allocated (at its first update). */
NNF_API nnf_status nnf_net_update(nnf_net *net);

/** One training step on the batch (x, y) of m samples: forward, backward and
 *  update, with the same result as those three calls. *cost (if not NULL)
 *  receives J before the update; the gradients stay readable afterwards.
 *  Unlike nnf_net_forward() it does not copy x, and it leaves no forward
 *  pass for a later nnf_net_backward(). Fails as forward and backward do;
 *  on any failure every parameter is bit-identical to before. */
NNF_API nnf_status nnf_net_train_step(nnf_net *net, const float *x,
                                      const float *y, size_t m, float *cost);

/** Inference: writes A[L] for the batch x to y (`float y[m][n_L]`). Shares
 *  the workspace with training, so it discards a stored forward pass (not
 *  the gradients). Returns as nnf_net_forward(); y NULL is NNF_ERR_ARG. */
NNF_API nnf_status nnf_net_predict(nnf_net *net, const float *x, size_t m,
                                   float *y);

/** Progress callback of nnf_net_train(), called after every mini-batch step
 *  with the epoch (from 0), the batch within it (from 0) and the mean cost J
 *  of the epoch's batches so far (weighted by batch size). Return 0 to go on,
 *  anything else to stop after this step. It may read the net, evaluate it
 *  (nnf_net_evaluate, nnf_net_predict), save or clone it and change its
 *  settings (nnf_net_set_param, e.g. a learning-rate schedule) and
 *  parameters. If it changes the layers or the loss, training stops with
 *  NNF_ERR_STATE before the next step. It must not destroy the net.
 *  Since 1.2. */
typedef int (*nnf_progress_fn)(void *user, size_t epoch, size_t batch, float cost);

/** Mini-batch training: epochs passes over the data set (x, y) of m samples
 *  in batches of batch_size (the last batch of an epoch may be shorter; a
 *  batch_size above m is m). With shuffle non-zero the sample order is
 *  shuffled before each epoch from seed (the same seed gives the same run);
 *  otherwise batches are taken in order, and batch_size = m is exactly
 *  epochs calls of nnf_net_train_step(). The data set is not copied: each
 *  shuffled batch is gathered into a buffer of batch_size samples.
 *  progress (may be NULL) can stop training early. *steps (may be NULL)
 *  receives the number of steps made (epochs completed = steps / batches
 *  per epoch). A step that fails stops training with its status and message
 *  (naming epoch and batch); the parameters are those after the last
 *  successful step. Returns NNF_ERR_ARG (NULL data, m, batch_size or epochs
 *  0, labels out of range), the statuses of nnf_net_train_step(), or
 *  NNF_ERR_NOMEM. Allocates the order and batch buffers on each call.
 *  Since 1.2. */
NNF_API nnf_status nnf_net_train(nnf_net *net, const float *x, const float *y,
                                 size_t m, size_t batch_size, size_t epochs,
                                 int shuffle, uint64_t seed,
                                 nnf_progress_fn progress, void *user,
                                 size_t *steps);

/** The cost J (including the L2 penalty, as training reports it) and the
 *  accuracy of the net on (x, y), m samples, without changing a parameter
 *  (it computes in chunks of the workspace, discarding a stored forward
 *  pass). Accuracy: with BCE, the share of output values on the right side
 *  of 0.5; with cross-entropy, the share of samples whose largest output is
 *  the largest label; with MSE, NaN. cost and accuracy may be NULL.
 *  Returns as nnf_net_train_step() would for the same data. Since 1.2. */
NNF_API nnf_status nnf_net_evaluate(nnf_net *net, const float *x, const float *y,
                                    size_t m, float *cost, float *accuracy);
/** @} */

/** @name Trainer
 *
 * A trainer holds how to train (batch size, epochs, seed, early stopping,
 * a learning-rate schedule, clipping), an optional validation set and a
 * progress function, and runs epochs of shuffled mini-batches on a net.
 * One trainer may run several nets, one at a time. Since 1.3.
 *
 * Epochs continue: the net counts the epochs trainers ran on it
 * (nnf_net_epochs(), saved with the optimizer's state), and epoch e's
 * shuffle and dropout masks depend on (seed, e, batch, layer, unit,
 * sample) only, so two runs of 10 epochs give the bits of one run of 20
 * with the same settings, at any thread count.
 *
 * After each epoch with a validation set the trainer evaluates it (the data
 * loss without penalty, NNF_METRIC_LOSS, and for sigmoid and softmax
 * outputs the accuracy) and keeps the epoch whose validation loss is the
 * lowest; with patience p > 0 it stops after p epochs without a lower one,
 * and with restore-best (the default) the net ends with that epoch's
 * parameters (the optimizer's state and the epoch count stay those of the
 * last epoch run). Stopping early is not an error: the run returns NNF_OK.
 *
 * The progress function is called after every batch and once more at the
 * end of each epoch (NNF_PROGRESS_EPOCH_END 1, with the validation figures).
 * It may read the net (nnf_progress_net()), evaluate and predict with it,
 * save or clone it, and change its settings with nnf_net_set_param (a new
 * learning rate is the schedule's base from the next batch on). Calls that
 * would change the net's layers, parameters, loss, input scaling or
 * dropout, or train it, fail with NNF_ERR_STATE while it runs. A non-zero
 * return stops the run after that batch (NNF_OK).
 *  @{ */

/** Settings of a trainer (nnf_trainer_set / nnf_trainer_get). */
typedef enum nnf_train_key {
    NNF_TRAIN_BATCH_SIZE = 0,   /* default 32 */
    NNF_TRAIN_EPOCHS = 1,       /* epochs to run in one nnf_trainer_run; default 10 */
    NNF_TRAIN_SEED = 2,         /* shuffling and dropout; default 0 */
    NNF_TRAIN_PATIENCE = 3,     /* early stopping: stop after this many epochs without a better
                                   validation cost; 0 (default) = never */
    NNF_TRAIN_RESTORE_BEST = 4, /* 1 (default): end with the parameters of the best validation epoch */
    NNF_TRAIN_SCHEDULE = 5,     /* an nnf_schedule; default NNF_SCHEDULE_CONSTANT */
    NNF_TRAIN_DECAY = 6,        /* the schedule's factor or floor (see nnf_schedule) */
    NNF_TRAIN_DECAY_EPOCHS = 7, /* the schedule's period or length in epochs */
    NNF_TRAIN_CLIP_NORM = 8     /* clip the global gradient norm to this; 0 (default) = off */
} nnf_train_key;

/** Learning-rate schedules. With alpha the net's learning rate, e the
 *  net's epoch (nnf_net_epochs(), counting every trainer's epochs), d
 *  NNF_TRAIN_DECAY (default 0.1) and T NNF_TRAIN_DECAY_EPOCHS (default 10),
 *  the rate of epoch e is:
 *  - CONSTANT:    alpha
 *  - STEP:        alpha d^floor(e / T)
 *  - EXPONENTIAL: alpha d^(e / T)
 *  - COSINE:      alpha (d + (1 - d) (1 + cos(pi min(e, T) / T)) / 2): from
 *                 alpha down to the floor alpha d at epoch T, then flat */
typedef enum nnf_schedule {
    NNF_SCHEDULE_CONSTANT = 0, NNF_SCHEDULE_STEP = 1, NNF_SCHEDULE_EXPONENTIAL = 2,
    NNF_SCHEDULE_COSINE = 3
} nnf_schedule;

/** What a progress function may read, valid during the call. */
typedef struct nnf_progress nnf_progress;
/** Keys of nnf_progress_get(). */
typedef enum nnf_progress_key {
    NNF_PROGRESS_EPOCH = 0, NNF_PROGRESS_BATCH = 1, NNF_PROGRESS_BATCHES_PER_EPOCH = 2,
    NNF_PROGRESS_EPOCH_END = 3, NNF_PROGRESS_COST = 4, NNF_PROGRESS_VAL_COST = 5,
    NNF_PROGRESS_VAL_ACCURACY = 6, NNF_PROGRESS_LEARNING_RATE = 7,
    NNF_PROGRESS_BEST_EPOCH = 8,   /**< the epoch of the lowest validation loss so far (NaN: none) */
    NNF_PROGRESS_BEST_VAL_COST = 9 /**< that loss */
} nnf_progress_key;
/* NNF_PROGRESS_EPOCH: the net's epoch (from 0, counting earlier runs);
 * BATCH: the batch within it (from 0); EPOCH_END: 1 in the call after the
 * epoch's last batch and its validation, else 0; COST: the mean J (with
 * the penalty) of the epoch's batches so far, weighted by their size;
 * VAL_COST, VAL_ACCURACY: the last validation's loss and accuracy (NaN
 * before the first, without a validation set, or for an output with no
 * accuracy); LEARNING_RATE: the rate of this epoch. An unknown key gives
 * NaN. */

typedef int (*nnf_trainer_fn)(const nnf_progress *p, void *user);   /* non-zero stops */

/** A trainer with every setting at its default. NNF_ERR_ARG (out NULL),
 *  NNF_ERR_NOMEM. */
NNF_API nnf_status nnf_trainer_create(nnf_trainer **out);
/** NULL is a no-op. */
NNF_API void       nnf_trainer_destroy(nnf_trainer *t);
/** Set a setting: BATCH_SIZE and EPOCHS integers >= 1, SEED an integer in
 *  0 .. 2^53, PATIENCE an integer >= 0, RESTORE_BEST 0 or 1, SCHEDULE an
 *  nnf_schedule, DECAY in [0, 1] (for CONSTANT unused), DECAY_EPOCHS an
 *  integer >= 1, CLIP_NORM finite and >= 0. NNF_ERR_ARG otherwise (nothing
 *  changes). */
NNF_API nnf_status nnf_trainer_set(nnf_trainer *t, nnf_train_key key, double value);
NNF_API nnf_status nnf_trainer_get(const nnf_trainer *t, nnf_train_key key, double *value);
/** The validation set (m samples, read in each nnf_trainer_run, not
 *  copied: it must live until then); x NULL removes it. */
NNF_API nnf_status nnf_trainer_set_validation(nnf_trainer *t, const float *x, const float *y, size_t m);
/** The progress function (NULL: none). */
NNF_API nnf_status nnf_trainer_set_progress(nnf_trainer *t, nnf_trainer_fn fn, void *user);
/** Run NNF_TRAIN_EPOCHS epochs on net over the data set (x, y), m samples
 *  (not copied: each batch is gathered, scaled by the net's input scaling,
 *  into the trainer's buffer). Checks the data and the validation set
 *  (shapes, finite values, labels in range) before the first step. A step
 *  that fails stops the run with its status and message (naming epoch and
 *  batch); the parameters are those of the last successful step.
 *  NNF_ERR_STATE when contexts read the net or a run is already in
 *  progress on it. */
NNF_API nnf_status nnf_trainer_run(nnf_trainer *t, nnf_net *net, const float *x, const float *y, size_t m);
/** Detail of the trainer's last failure ("" when none). */
NNF_API const char *nnf_trainer_errmsg(const nnf_trainer *t);
/** As nnf_net_report(), for the trainer's message (nnf_trainer_errmsg()).
 *  Since 1.3. */
NNF_API nnf_status nnf_trainer_report(nnf_trainer *t, nnf_status status, const char *msg);
/** A figure of the progress (nnf_progress_key). */
NNF_API double     nnf_progress_get(const nnf_progress *p, nnf_progress_key key);
/** The net being trained. */
NNF_API const nnf_net *nnf_progress_net(const nnf_progress *p);

/** What the last nnf_trainer_run of a trainer did. */
typedef enum nnf_train_result {
    NNF_RESULT_EPOCHS_RUN = 0,   /**< epochs completed */
    NNF_RESULT_BEST_EPOCH = 1,   /**< the net's epoch of the lowest validation
                                      loss (NaN without validation) */
    NNF_RESULT_BEST_VAL_COST = 2,/**< that loss */
    NNF_RESULT_STOPPED_EARLY = 3,/**< 1 when patience ran out */
    NNF_RESULT_RESTORED = 4,     /**< 1 when the net got the best epoch's
                                      parameters back */
    NNF_RESULT_LAST_COST = 5     /**< mean J of the last epoch's batches */
} nnf_train_result;
/** A result of the trainer's last run through *value (NaN before any).
 *  NNF_ERR_ARG for an unknown key. */
NNF_API nnf_status nnf_trainer_result(const nnf_trainer *t, nnf_train_result key, double *value);
/** The epochs trainers ran on the net (0 for NULL). */
NNF_API uint64_t   nnf_net_epochs(const nnf_net *net);
/** @} */

/** @name Exchanging gradients
 *
 * An exchange function sees what a training step or a trainer's epoch
 * computed on this net before it is used, and may replace it with what
 * other nets computed too: the hook for data-parallel training over
 * several processes (nnfast_mpi.h sums over MPI ranks through it), for
 * gradient accumulation, or for logging. Since 1.3.
 *  @{ */

/** When an exchange function is called. */
typedef enum nnf_exchange_kind {
    NNF_EXCHANGE_STEP = 0,       /**< in every train step (nnf_net_train_step,
                                      nnf_net_train, nnf_trainer_run,
                                      nnf_net_gradcheck), after the backward
                                      pass, before the L2 penalty, the clipping
                                      and the update: grads, loss and samples */
    NNF_EXCHANGE_VALIDATION = 1, /**< after a trainer evaluated its validation
                                      set: loss, correct, answers, samples */
    NNF_EXCHANGE_EPOCH = 2       /**< before each epoch of a trainer: batches */
} nnf_exchange_kind;

/** What an exchange function reads and may change, valid during the call.
 *  Opaque, like every nnfast type, so that later versions can add figures:
 *  read and write it through the calls below. Every figure is a sum, so
 *  that sums over several nets are the sums of their figures. */
typedef struct nnf_exchange nnf_exchange;

/** The figures of an exchange (nnf_exchange_get / nnf_exchange_set), each
 *  present in the kinds named. */
typedef enum nnf_exchange_key {
    NNF_EXCHANGE_LOSS = 0,    /**< STEP, VALIDATION: the loss summed over samples */
    NNF_EXCHANGE_SAMPLES = 1, /**< STEP, VALIDATION: the samples in the sums (0
                                   allowed for a net that had none) */
    NNF_EXCHANGE_CORRECT = 2, /**< VALIDATION: right answers (NNF_METRIC_ACCURACY) */
    NNF_EXCHANGE_ANSWERS = 3, /**< VALIDATION: answers counted */
    NNF_EXCHANGE_BATCHES = 4  /**< EPOCH: the epoch's batches on this net; the
                                   function may raise it (a net with fewer runs
                                   empty steps that contribute nothing) */
} nnf_exchange_key;

/** The kind of exchange e is ((nnf_exchange_kind)-1 for NULL). */
NNF_API nnf_exchange_kind nnf_exchange_get_kind(const nnf_exchange *e);
/** The step's status on this net so far. A STEP exchange is made even when
 *  the step failed here (its gradient is then absent): the other nets must
 *  learn of it. NNF_ERR_ARG for e NULL. */
NNF_API nnf_status nnf_exchange_get_status(const nnf_exchange *e);
/** STEP: the gradient summed over the batch's samples, without the
 *  penalty, n floats (*n) in the layout of the net's parameter arena (layer
 *  after layer, W as nnf_layer_get_weights() lays it out, then b, then zeros
 *  of a padded layer), which the function may overwrite. NULL (and *n = 0)
 *  in other kinds and in a step that failed here. n may be NULL. */
NNF_API float *nnf_exchange_grads(nnf_exchange *e, size_t *n);
/** The figure key of e; NaN when e is NULL or its kind has no such figure. */
NNF_API double nnf_exchange_get(const nnf_exchange *e, nnf_exchange_key key);
/** Replace the figure key of e with value: LOSS finite; SAMPLES, CORRECT,
 *  ANSWERS finite and >= 0; BATCHES an integer from 0 to 2^53.
 *  NNF_ERR_ARG for a key e's kind has not or a value out of range (e's
 *  message then says why, so that a function returning the status fails
 *  the step with it). */
NNF_API nnf_status nnf_exchange_set(nnf_exchange *e, nnf_exchange_key key, double value);
/** Word the failure the function is about to return (at most 511 bytes are
 *  kept; nnfast prefixes the call that failed). NNF_ERR_ARG for NULL. */
NNF_API nnf_status nnf_exchange_set_message(nnf_exchange *e, const char *msg);

typedef nnf_status (*nnf_exchange_fn)(nnf_net *net, nnf_exchange *e, void *user);

/** Set the net's exchange function (NULL removes it). After a STEP
 *  exchange the step divides the sums by samples, adds the penalty
 *  (lambda / samples) W, and computes J = loss / samples + lambda /
 *  (2 samples) sum ||W||^2. A function that returns a failure fails the
 *  step with that status and its message, and nothing is changed. */
NNF_API nnf_status nnf_net_set_exchange(nnf_net *net, nnf_exchange_fn fn, void *user);
/** @} */

/** @name Input scaling, class labels and metrics
 *
 * A net may hold the per-feature standardization of its inputs, applied to
 * x by every pass and every context and saved with the model, so that a
 * loaded model predicts from raw features. Since 1.3.
 *  @{ */

/** Compute the input scaling from the data set x (m samples): per feature
 *  the mean and the standard deviation (population, divided by m),
 *  computed in double; a feature whose deviation is 0 gets 1. Every pass
 *  then computes with (x - mean) / std. NNF_ERR_ARG (x NULL, m 0),
 *  NNF_ERR_NUMERIC (a NaN or infinity in x, or a deviation that is not
 *  finite in float), NNF_ERR_STATE (contexts live), NNF_ERR_NOMEM.
 *  Discards a stored forward pass and the workspace. */
NNF_API nnf_status nnf_net_fit_input_scaling(nnf_net *net, const float *x, size_t m);
/** Set the input scaling from n_0 means and n_0 standard deviations (a 0
 *  is taken as 1); both NULL removes it. NNF_ERR_ARG for one NULL, a value
 *  that is not finite or a negative deviation; otherwise as
 *  nnf_net_fit_input_scaling(). */
NNF_API nnf_status nnf_net_set_input_scaling(nnf_net *net, const float *mean,
                                             const float *std);
/** Copy the input scaling out (n_0 floats each; a zero deviation reads as
 *  1). NNF_ERR_STATE when the net has none. */
NNF_API nnf_status nnf_net_get_input_scaling(const nnf_net *net, float *mean,
                                             float *std);

/** Class labels for the batch x: the index of the largest output of a
 *  softmax or other multi-unit output layer (the first of equal ones), or
 *  for one sigmoid unit 1 when its output is >= 0.5, else 0. labels holds m
 *  values. NNF_ERR_STATE for a single output unit that is not sigmoid;
 *  otherwise the statuses of nnf_net_predict(), which it shares the
 *  workspace with. */
NNF_API nnf_status nnf_net_classify(nnf_net *net, const float *x, size_t m,
                                    uint32_t *labels);

/** What nnf_net_metrics() measures, the index of each value. New metrics
 *  are appended. */
typedef enum nnf_metric {
    NNF_METRIC_LOSS = 0,     /**< the data loss: mean over samples of the
                                  per-sample loss, without the L2 penalty */
    NNF_METRIC_COST = 1,     /**< J as training reports it: the loss plus
                                  the L2 penalty lambda/(2m) sum ||W||^2 */
    NNF_METRIC_ACCURACY = 2, /**< share of right answers: a softmax
                                  output's largest unit at the label's
                                  largest; a sigmoid output unit on the
                                  label's side of 0.5 (all units counted);
                                  NaN for other outputs */
    NNF_METRIC_RMSE = 3,     /**< sqrt of the mean over samples and output
                                  units of (a - y)^2 */
    NNF_METRIC_MAE = 4,      /**< mean over samples and units of |a - y| */
    NNF_METRIC_R2 = 5        /**< coefficient of determination
                                  1 - sum (y - a)^2 / sum (y - mean y)^2 per
                                  output unit, averaged over the units; NaN
                                  when a unit's labels are all equal */
} nnf_metric;
/** How many metrics this header knows. */
#define NNF_METRIC_COUNT 6

/** Measure the net on (x, y), m samples, without changing a parameter:
 *  values[k] receives metric k (nnf_metric) for k < n_values (n_values may
 *  be below or above NNF_METRIC_COUNT: values past the known metrics get
 *  NaN). Computed in chunks of the workspace, in double. Returns the
 *  statuses of nnf_net_evaluate(); values NULL with n_values > 0 is
 *  NNF_ERR_ARG. */
NNF_API nnf_status nnf_net_metrics(nnf_net *net, const float *x, const float *y,
                                   size_t m, double *values, size_t n_values);
/** @} */

/** @name Metadata
 *
 * Short UTF-8 key/value strings saved with the model, such as the feature
 * names or the data set's version. Keys are 1 to NNF_META_KEY_MAX bytes,
 * values 0 to NNF_META_VALUE_MAX bytes, both valid UTF-8 without NUL; a net
 * holds at most NNF_META_MAX entries. A loader checks the same limits.
 * Since 1.3.
 *  @{ */

#define NNF_META_KEY_MAX   64u
#define NNF_META_VALUE_MAX 4096u
#define NNF_META_MAX       64u

/** Set key to value (replacing its value), or with value NULL remove key.
 *  NNF_ERR_ARG for a key or value that is not valid UTF-8 of the allowed
 *  length, NNF_ERR_SHAPE when the net already holds NNF_META_MAX entries,
 *  NNF_ERR_NOMEM. */
NNF_API nnf_status nnf_net_set_meta(nnf_net *net, const char *key, const char *value);
/** Copy key's value with its terminating 0 into buf (cap bytes).
 *  NNF_ERR_ARG when the key is absent or cap is too small (nothing is then
 *  written past cap; the message gives the size needed). */
NNF_API nnf_status nnf_net_get_meta(const nnf_net *net, const char *key, char *buf,
                                    size_t cap);
/** Number of entries (0 for NULL). */
NNF_API size_t nnf_net_meta_count(const nnf_net *net);
/** Copy the key of entry i (0 .. count - 1, in the order they were first
 *  set) into buf, as nnf_net_get_meta() copies a value. */
NNF_API nnf_status nnf_net_meta_key(const nnf_net *net, size_t i, char *buf, size_t cap);
/** @} */

/** @name Gradient checking
 *  @{ */

/** Check the backward pass against the definition of the gradient: for
 *  each parameter theta_i, the central difference
 *  (J(theta_i + h) - J(theta_i - h)) / (2 h), h = 1e-4 max(1, |theta_i|),
 *  with J computed in double (nnfast's own float64 evaluation of the net,
 *  no dropout) against the gradient g of nnfast's backward pass on (x, y),
 *  and *rel_err = ||g - g_approx|| / (||g|| + ||g_approx||) (0 when both
 *  are 0). Every parameter when there are at most 10,000; otherwise the
 *  10,000 parameters i = floor(k P / 10000), k = 0 .. 9999, of the P in
 *  layer order (W then b per layer). A correct backward gives about 1e-7
 *  (its float rounding), a wrong one more than 1e-2. Costs two double
 *  passes over the batch per checked parameter: use a small batch. The
 *  net is left bit-identical (the check runs on a copy). Returns the
 *  statuses of nnf_net_backward() for (x, y), NNF_ERR_NOMEM. Since 1.3. */
NNF_API nnf_status nnf_net_gradcheck(nnf_net *net, const float *x, const float *y, size_t m,
                                     double *rel_err);
/** @} */

/** @name Serving: inference contexts
 *
 * An inference context is one thread's working memory for predicting with
 * one net: the activations of up to max_batch samples, nothing else. Any
 * number of contexts may read one net, each used by one thread at a time,
 * all predicting at once, with the one copy of the weights in the net.
 * While a net has live contexts, every call that would change what they
 * read fails with NNF_ERR_STATE ("N contexts read this net") and changes
 * nothing: nnf_net_add_dense, nnf_net_set_loss, nnf_net_init,
 * nnf_layer_set_weights, nnf_layer_set_bias, nnf_layer_set_slope,
 * nnf_net_update, nnf_net_train_step and nnf_net_train. Everything else
 * works: reading, nnf_net_clone, saving, nnf_net_set_param, and the calls
 * that use only the net's own workspace (forward, backward, predict,
 * evaluate, trim), by one thread at a time as always. Results are those of
 * nnf_net_predict(): bit-identical for the same x, m and thread count
 * (docs/serving.md says what may differ otherwise). Since 1.3.
 *  @{ */

/** One thread's working memory for predicting with one net. */
typedef struct nnf_ctx nnf_ctx;

/** A context for predicting with net in batches of up to max_batch samples:
 *  allocates the activations of max_batch samples and nothing else. It only
 *  reads net, and may be called by several threads at once on one net. The
 *  context holds a reference to the net's layers and parameters (see
 *  nnf_net_destroy()). Returns NNF_ERR_ARG (net or out NULL, max_batch 0),
 *  NNF_ERR_STATE (no layer; net in use by a thread that changes it),
 *  NNF_ERR_SHAPE (max_batch too large) or NNF_ERR_NOMEM; the message is the
 *  calling thread's nnf_net_errmsg(net). *out is NULL on failure. */
NNF_API nnf_status nnf_ctx_create(const nnf_net *net, size_t max_batch,
                                  nnf_ctx **out);

/** Free the context; the last one of a destroyed net frees the net. NULL is
 *  a no-op. */
NNF_API void nnf_ctx_destroy(nnf_ctx *ctx);

/** Inference as nnf_net_predict(): writes A[L] for the batch x (`float
 *  x[m][n_0]`) to y (`float y[m][n_L]`), bit-identical to nnf_net_predict()
 *  on the same x and m. Allocates nothing. Returns NNF_ERR_ARG (ctx, x or y
 *  NULL, m 0), NNF_ERR_SHAPE (m above the context's max_batch),
 *  NNF_ERR_NUMERIC (NaN/inf in x, a non-finite output) or NNF_ERR_STATE (the
 *  context in use by another thread; more threads computing than the BLAS
 *  serves), with its message on the context. */
NNF_API nnf_status nnf_ctx_predict(nnf_ctx *ctx, const float *x, size_t m,
                                   float *y);

/** Detail of the last failure on ctx, e.g. "nnf_ctx_predict: m = 65
 *  exceeds the context's max_batch = 64"; "" when none. Valid until the next
 *  call on ctx. ctx NULL gives a static text. */
NNF_API const char *nnf_ctx_errmsg(const nnf_ctx *ctx);

/** The largest batch ctx predicts (0 for NULL). Since 1.3. */
NNF_API size_t nnf_ctx_max_batch(const nnf_ctx *ctx);

/** The live contexts of net (0 for NULL). Since 1.3. */
NNF_API size_t nnf_net_contexts(const nnf_net *net);
/** @} */

/** @name Saving, loading and cloning
 *
 * The format is specified byte by byte in docs/format.md: little-endian
 * IEEE-754 on every host, explicit sizes, a CRC-32 over the content. A saved
 * net holds its architecture, activations and slopes, loss, optimizer and
 * hyper-parameters, and parameters; with NNF_SAVE_OPTIMIZER_STATE also the
 * optimizer's state, so that training resumes exactly. Gradients and the
 * workspace are never saved.
 *  @{ */

/** Flags of the save calls. Since 1.2. */
#define NNF_SAVE_OPTIMIZER_STATE 1u

/** Bytes nnf_net_save_mem() writes for net with flags, through *size. */
NNF_API nnf_status nnf_net_saved_size(const nnf_net *net, unsigned flags,
                                      size_t *size);
/** Serialize net into buf (cap bytes). *size (may be NULL) receives the
 *  bytes written. NNF_ERR_ARG when cap is too small (nothing is written
 *  past cap) or flags has unknown bits. Since 1.2. */
NNF_API nnf_status nnf_net_save_mem(const nnf_net *net, void *buf, size_t cap,
                                    unsigned flags, size_t *size);
/** Save net to the file path, atomically: it writes a temporary file
 *  ".NAME.nnf-XXXXXX" in the same directory (NAME, path's file name cut to fit the file
 *  system's 255 bytes), flushes it to disk, renames it over path and flushes
 *  the directory, so path holds either the old content or the whole new
 *  one. Temporary files of the same name that a killed save left behind
 *  are removed. NNF_ERR_ARG for an empty path or one ending in '/';
 *  NNF_ERR_IO (with the system's reason in the message) when a step fails,
 *  including the flush of the directory after the rename. Since 1.2. */
NNF_API nnf_status nnf_net_save(const nnf_net *net, const char *path, unsigned flags);

/** Load a net saved by nnf_net_save_mem() from size bytes at buf. Everything
 *  is checked before it is trusted (magic, version, sizes against limits
 *  and overflow, CRC, enum values, finite parameters): malformed data is
 *  NNF_ERR_FORMAT, never a crash, and nothing is allocated beyond what the
 *  data's size justifies; size must be exactly the saved size (trailing
 *  bytes are malformed). On failure *out is NULL and, if errbuf is not
 *  NULL, errbuf (errbuf_size bytes) receives a message saying what is
 *  wrong. Since 1.2. */
NNF_API nnf_status nnf_net_load_mem(nnf_net **out, const void *buf, size_t size,
                                    char *errbuf, size_t errbuf_size);
/** Load a net from the file path, as nnf_net_load_mem(); NNF_ERR_IO when the
 *  file cannot be read or is not a regular file (a directory, FIFO, socket
 *  or device is refused without being opened or waited for). The first
 *  bytes decide whether the file can be a saved net of its size before the
 *  rest is read. Since 1.2. */
NNF_API nnf_status nnf_net_load(nnf_net **out, const char *path, char *errbuf,
                                size_t errbuf_size);

/** A new, independent net with the same architecture, settings, parameters
 *  and optimizer state as net (not its gradients, stored forward pass or
 *  workspace): for one copy per thread that trains. net is only read: several
 *  threads may clone one net at once. Since 1.2. */
NNF_API nnf_status nnf_net_clone(const nnf_net *net, nnf_net **out);
/** Make dst's parameters, settings (loss, nnf_param values, seed, slopes,
 *  dropout rates), optimizer state, input scaling and epoch count those of
 *  src, in place (dst's exchange function and metadata stay dst's; its
 *  gradients and stored forward pass are dropped). src is only read.
 *  NNF_ERR_STATE when the architectures differ (inputs, and per layer
 *  units and activation) or dst has inference contexts; NNF_ERR_NOMEM.
 *  A failure changes nothing. dst == src does nothing. Since 1.3. */
NNF_API nnf_status nnf_net_copy_state(nnf_net *dst, const nnf_net *src);
/** @} */

#ifdef __cplusplus
}
#endif

/* clang-format on */

#endif /* NNFAST_H */
