/* SPDX-License-Identifier: MIT */
/* cli.c - the command line of nnfast-bench: --help, and parsing every option
 * into a list of cases; a bad argument is one clear line on stderr. */
#include "bench.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS_VALUE 1024

void bench_usage(FILE *f)
{
    fprintf(
        f,
        "usage: nnfast-bench [--layers N0,N1,...,NL [--batch M | --sweep-batch M1,M2,...]\n"
        "                     [--hidden ACT] [--output sigmoid|linear|softmax]\n"
        "                     [--loss bce|mse|ce]] [--optimizer sgd|momentum|adam]\n"
        "                    [--name NAME] [--threads T1,T2,...] [--plan reproducible|fastest]\n"
        "                    [--reps N] [--warmup N]\n"
        "                    [--quick] [--format table|csv|json] [--version] [--help]\n"
        "       nnfast-bench --serve [--layers LIST [--output ACT]] [--batch M1,M2,...]\n"
        "                    [--threads N1,N2,...] [--quick] [--format F]\n"
        "       mpirun -np R nnfast-bench --mpi [--name NAME | --layers LIST [--batch M]]\n"
        "                    [--threads T] [--reps N] [--quick]\n"
        "\n"
        "Times nnfast's train step (nnf_net_train_step) and its phases, against the\n"
        "bare sgemm calls of the same shapes and against what the machine can do,\n"
        "all measured in the same run, rep by rep.\n"
        "\n"
        "  --layers LIST      layer sizes, input first (e.g. 784,256,128,1); without it\n"
        "                     the standard suite below runs\n"
        "  --batch M          samples per step (default 256)\n"
        "  --sweep-batch LIST run --layers at each of these batch sizes (e.g. 1,8,64,512)\n"
        "  --hidden ACT       hidden activation: relu (default), tanh, sigmoid,\n"
        "                     leaky_relu, linear\n"
        "  --output ACT       output activation: sigmoid (default), linear or softmax\n"
        "  --loss LOSS        bce (default; needs a sigmoid output), mse, or ce\n"
        "                     (cross-entropy; goes with a softmax output)\n"
        "  --optimizer OPT    sgd, momentum or adam (nnfast's default constants); also\n"
        "                     overrides the suite's (e.g. --name digits-adam --optimizer sgd)\n"
        "  --name NAME        with --layers: the case's name (default \"custom\"; letters,\n"
        "                     digits, _ . + -); without: run only these suite cases\n"
        "                     (a comma list, e.g. cat2,catL)\n"
        "  --threads LIST     nnfast's thread counts (nnf_set_threads); every case runs\n"
        "                     at each (e.g. 1,2). Default: nnf_get_threads()\n"
        "  --plan MODE        nnf_set_plan_mode: reproducible (default; the same bits at\n"
        "                     any thread count) or fastest (one call per product at one\n"
        "                     thread)\n"
        "  --reps N           timed reps per case (default: enough for about 1.5 s of\n"
        "                     steps as estimated in the warm-up, at least 5, at most 2000)\n"
        "  --warmup N         untimed steps first, N >= 1 (default 3; 1 when a step\n"
        "                     takes more than 0.5 s)\n"
        "  --quick            3 reps and 1 warm-up step per case, short machine\n"
        "                     measurements: a smoke test\n"
        "  --format F         table (default; one aligned line per case), csv (a header\n"
        "                     line, then one line per case) or json (one object per line)\n"
        "  --serve            serving instead of training: predictions per second of N\n"
        "                     threads (each --threads value), each predicting through\n"
        "                     its own context (nnf_ctx_predict) on one model saved and\n"
        "                     loaded back, against 1 thread in the same rounds (5 rounds\n"
        "                     of 0.5 s each; --quick: 1 of 0.1 s), at each --batch size\n"
        "                     (default 1,16,64), with the bytes the loaded model holds\n"
        "                     and those of one context. nnfast runs 1 thread of its own.\n"
        "                     Default model: 784-256-128-10 relu, softmax (\"digits\")\n"
        "  --version          the version of nnfast-bench and of the BLAS it runs\n"
        "  --help             this text\n"
        "\n"
        "Before any timing, every case (at every thread count) is checked: one train\n"
        "step of a net with the same shapes and weights, at batch min(m, %d), against\n"
        "nnfast's own float64 reference network (plain loops in double: the cost, dW,\n"
        "db, and the updated W and b). A relative error above %g prints the error and\n"
        "exits 1, with no figures.\n"
        "\n",
        BENCH_CHECK_M, BENCH_CHECK_TOL);
    fprintf(f, "  --mpi              under mpirun -np R (built with MPI): weak scaling of the\n"
               "                     collective step nnf_mpi_train_step, every rank at the\n"
               "                     case's batch, against one rank's step at that batch while\n"
               "                     the others sleep, and the gradient's sum over the ranks\n"
               "                     timed alone (its share of the step), and the same sum as\n"
               "                     an MPI_Iallreduce started before a local step and waited\n"
               "                     for after it (how much of it an overlap would hide),\n"
               "                     interleaved rep by rep (default 15 reps). Default case\n"
               "                     mlp-wide, 1 thread per rank\n"
               "\n");
    fprintf(f,
            "Then, at each thread count, the machine: its sgemm peak (2048^3, the BLAS on\n"
            "that many threads) and its read bandwidth (a buffer larger than the\n"
            "last-level cache, summed on that many threads). Per case: median, min and\n"
            "max over the reps of a step; medians of forward (nnf_net_predict), backward\n"
            "(nnf_net_backward after an untimed forward) and update (nnf_net_update right\n"
            "after them); gemm_ms, the step's sgemm calls as nnfast cuts and runs them, and\n"
            "gemm1_ms, one call per product on the BLAS's own threads, both on the bench's\n"
            "own buffers, interleaved with the steps; floor_ms = max(flops / peak, bytes /\n"
            "bandwidth), the bytes being x read twice, and the parameters read twice and\n"
            "written once when they do not fit in the cache; floor_eff = floor / step;\n"
            "GFLOP/s = sum over layers of 2 n_in n_out m (x2 for Z and dW, x3 with dA\n"
            "except layer 1) / step; heap allocations per timed step (through\n"
            "nnf_set_allocator); bytes the net holds after warm-up against the minimum\n"
            "4 ((2 + s) P + sum_l n_l m + w m): parameters, gradients, the optimizer's s\n"
            "state arrays, one activation per layer and the scratch for dA as wide as the\n"
            "widest hidden layer, w.\n"
            "Data: x uniform in [-1, 1], y 0/1 (BCE), uniform (MSE) or one-hot (CE),\n"
            "fixed seeds; learning rate %g; nnf_net_init(NNF_INIT_DEFAULT, seed 1).\n"
            "\n"
            "The standard suite:\n",
            BENCH_LR);
    for (size_t i = 0; i < bench_suite_size(); i++) {
        bench_case c;
        char layers[128];
        bench_suite_case(i, &c);
        bench_layers_str(&c, '-', layers, sizeof layers);
        fprintf(f, "  %-12s %-22s m=%-5zu %-5s %-8s %-4s %s\n", c.name, layers, c.m,
                bench_act_name(c.hidden), bench_act_name(c.output), bench_loss_name(c.loss),
                bench_optimizer_name(c.optimizer));
    }
    fprintf(f, "\nExit status: 0 ok, 1 a failed check or run, 2 bad arguments.\n");
}

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static int
bad(const char *fmt, ...)
{
    va_list ap;
    fputs("nnfast-bench: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see --help)\n", stderr);
    return -1;
}

/* A decimal integer in [lo, hi], the whole of s[0..len). */
static int parse_num(const char *s, size_t len, long lo, long hi, long *out)
{
    char buf[32], *end;
    if (len == 0 || len >= sizeof buf || s[0] < '0' || s[0] > '9')
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    long v = strtol(buf, &end, 10);
    if (errno || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* "a,b,c" into out[0..*n), each in [lo, hi]; at most max entries. */
static int parse_list(const char *opt, const char *s, long lo, long hi, long *out, size_t max,
                      size_t *n)
{
    *n = 0;
    for (const char *p = s;; p++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (*n == max)
            return bad("%s: at most %zu values", opt, max);
        if (parse_num(p, len, lo, hi, &out[*n]) != 0)
            return bad("%s: '%s' is not %s in %ld..%ld", opt, s,
                       max == 1 ? "an integer" : "a list of integers", lo, hi);
        (*n)++;
        if (!comma)
            return 0;
        p = comma;
    }
}

static int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= BENCH_NAME_MAX)
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+-") == n;
}

/* What the options said, before it becomes cases. */
typedef struct raw {
    const char *layers, *batch, *sweep, *hidden, *output, *loss, *name, *threads;
    const char *reps, *warmup, *format, *optimizer, *plan;
    int quick, version, serve, mpi;
} raw;

/* Sorts argv into r: "--opt value" or "--opt=value". 1 for --help. */
static int collect(int argc, char **argv, raw *r)
{
    const struct {
        const char *opt;
        const char **dst;
    } valued[] = {
        {"--layers", &r->layers}, {"--batch", &r->batch},     {"--sweep-batch", &r->sweep},
        {"--hidden", &r->hidden}, {"--output", &r->output},   {"--loss", &r->loss},
        {"--name", &r->name},     {"--threads", &r->threads}, {"--reps", &r->reps},
        {"--warmup", &r->warmup}, {"--format", &r->format},   {"--optimizer", &r->optimizer},
        {"--plan", &r->plan},
    };
    const size_t n_valued = sizeof valued / sizeof valued[0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a), k;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return 1;
        if (strcmp(a, "--quick") == 0) {
            r->quick = 1;
            continue;
        }
        if (strcmp(a, "--version") == 0) {
            r->version = 1;
            continue;
        }
        if (strcmp(a, "--serve") == 0) {
            r->serve = 1;
            continue;
        }
        if (strcmp(a, "--mpi") == 0) {
            r->mpi = 1;
            continue;
        }
        for (k = 0; k < n_valued; k++)
            if (strlen(valued[k].opt) == len && strncmp(a, valued[k].opt, len) == 0)
                break;
        if (k == n_valued)
            return a[0] == '-' ? bad("unknown option '%s'", a) : bad("unexpected argument '%s'", a);
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (v == NULL || v[0] == '\0')
            return bad("%s needs a value", valued[k].opt);
        *valued[k].dst = v;
    }
    return 0;
}

/* --layers, --batch / --sweep-batch, --hidden, --output, --loss, --name. */
static int custom_cases(const raw *r, bench_opts *o)
{
    long n[BENCH_MAX_LAYERS + 1], m[BENCH_MAX_BATCHES] = {256};
    size_t nn, nm = 1;
    bench_case c;

    memset(&c, 0, sizeof c);
    if (parse_list("--layers", r->layers, 1, INT_MAX, n, BENCH_MAX_LAYERS + 1, &nn) != 0)
        return -1;
    if (nn < 2)
        return bad("--layers: give the input size and at least one layer (e.g. 784,1)");
    if (r->batch && r->sweep)
        return bad("give --batch or --sweep-batch, not both");
    /* --serve takes a list of batch sizes (each its own case) */
    if (r->batch &&
        parse_list("--batch", r->batch, 1, INT_MAX, m, r->serve ? BENCH_MAX_BATCHES : 1, &nm) != 0)
        return -1;
    if (r->sweep &&
        parse_list("--sweep-batch", r->sweep, 1, INT_MAX, m, BENCH_MAX_BATCHES, &nm) != 0)
        return -1;
    c.hidden = NNF_ACT_RELU;
    c.output = NNF_ACT_SIGMOID;
    c.loss = NNF_LOSS_BCE;
    if (r->hidden && (bench_act_parse(r->hidden, &c.hidden) != 0 || c.hidden == NNF_ACT_SOFTMAX))
        return bad("--hidden: '%s' is not relu, tanh, sigmoid, leaky_relu or linear", r->hidden);
    if (r->output && (bench_act_parse(r->output, &c.output) != 0 ||
                      (c.output != NNF_ACT_SIGMOID && c.output != NNF_ACT_LINEAR &&
                       c.output != NNF_ACT_SOFTMAX)))
        return bad("--output: '%s' is not sigmoid, linear or softmax", r->output);
    if (c.output == NNF_ACT_SOFTMAX)
        c.loss = NNF_LOSS_CROSS_ENTROPY;
    if (r->loss) {
        if (!strcmp(r->loss, "bce"))
            c.loss = NNF_LOSS_BCE;
        else if (!strcmp(r->loss, "mse"))
            c.loss = NNF_LOSS_MSE;
        else if (!strcmp(r->loss, "ce"))
            c.loss = NNF_LOSS_CROSS_ENTROPY;
        else
            return bad("--loss: '%s' is not bce, mse or ce", r->loss);
    }
    if (c.loss == NNF_LOSS_BCE && c.output != NNF_ACT_SIGMOID)
        return bad("--loss bce needs --output sigmoid");
    if ((c.loss == NNF_LOSS_CROSS_ENTROPY) != (c.output == NNF_ACT_SOFTMAX))
        return bad("--loss ce and --output softmax go together");
    if (r->name && !valid_name(r->name))
        return bad("--name: '%s' is not 1-%d letters, digits, _ . + -", r->name,
                   BENCH_NAME_MAX - 1);
    strcpy(c.name, r->name ? r->name : "custom");
    c.L = nn - 1;
    for (size_t l = 0; l < nn; l++)
        c.n[l] = (size_t)n[l];

    o->cases = calloc(nm, sizeof *o->cases);
    if (o->cases == NULL)
        return bad("out of memory");
    for (size_t i = 0; i < nm; i++) {
        o->cases[i] = c;
        o->cases[i].m = (size_t)m[i];
    }
    o->n_cases = nm;
    return 0;
}

/* Whether the comma list names holds name. */
static int in_list(const char *names, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = names; p != NULL; p = strchr(p, ','), p = p ? p + 1 : NULL)
        if (strncmp(p, name, len) == 0 && (p[len] == ',' || p[len] == '\0'))
            return 1;
    return 0;
}

/* 0 when every entry of the comma list names is a suite case. */
static int check_suite_names(const char *names)
{
    for (const char *p = names; p != NULL; p = strchr(p, ','), p = p ? p + 1 : NULL) {
        size_t len = strcspn(p, ","), i;
        for (i = 0; i < bench_suite_size(); i++) {
            bench_case c;
            bench_suite_case(i, &c);
            if (strlen(c.name) == len && strncmp(p, c.name, len) == 0)
                break;
        }
        if (i == bench_suite_size())
            return bad("--name: '%.*s' is not a suite case", (int)len, p);
    }
    return 0;
}

/* The standard suite, or the cases of it named by --name a,b. */
static int suite_cases(const raw *r, bench_opts *o)
{
    const char *only[] = {"--batch", r->batch,   "--sweep-batch", r->sweep, "--hidden",
                          r->hidden, "--output", r->output,       "--loss", r->loss};
    for (size_t i = 0; i < sizeof only / sizeof only[0]; i += 2)
        if (only[i + 1])
            return bad("%s needs --layers (the suite fixes its own)", only[i]);
    if (r->name && check_suite_names(r->name) != 0)
        return -1;
    o->cases = calloc(bench_suite_size(), sizeof *o->cases);
    if (o->cases == NULL)
        return bad("out of memory");
    for (size_t i = 0; i < bench_suite_size(); i++) {
        bench_case c;
        bench_suite_case(i, &c);
        if (r->name == NULL || in_list(r->name, c.name))
            o->cases[o->n_cases++] = c;
    }
    return 0;
}

/* --threads, --reps, --warmup, --format, --quick. */
static int run_options(const raw *r, bench_opts *o)
{
    long v[BENCH_MAX_THREADS];
    o->reps = 0;
    o->warmup = -1;
    o->quick = r->quick;
    o->format = BENCH_TABLE;
    if (r->threads) {
        if (parse_list("--threads", r->threads, 1, MAX_THREADS_VALUE, v, BENCH_MAX_THREADS,
                       &o->n_threads) != 0)
            return -1;
        for (size_t i = 0; i < o->n_threads; i++)
            o->threads[i] = (int)v[i];
    } else {
        o->threads[0] = nnf_get_threads();
        o->n_threads = 1;
    }
    if (r->reps) {
        if (parse_num(r->reps, strlen(r->reps), 1, 1000000, &v[0]) != 0)
            return bad("--reps: '%s' is not an integer in 1..1000000", r->reps);
        o->reps = (int)v[0];
    }
    if (r->warmup) {
        if (parse_num(r->warmup, strlen(r->warmup), 1, 100000, &v[0]) != 0)
            return bad("--warmup: '%s' is not an integer in 1..100000", r->warmup);
        o->warmup = (int)v[0];
    }
    if (r->plan) {
        if (strcmp(r->plan, "reproducible") == 0)
            (void)nnf_set_plan_mode(NNF_PLAN_REPRODUCIBLE);
        else if (strcmp(r->plan, "fastest") == 0)
            (void)nnf_set_plan_mode(NNF_PLAN_FASTEST);
        else
            return bad("--plan: '%s' is not reproducible or fastest", r->plan);
    }
    if (r->format) {
        if (strcmp(r->format, "table") == 0)
            o->format = BENCH_TABLE;
        else if (strcmp(r->format, "csv") == 0)
            o->format = BENCH_CSV;
        else if (strcmp(r->format, "json") == 0)
            o->format = BENCH_JSON;
        else
            return bad("--format: '%s' is not table, csv or json", r->format);
    }
    return 0;
}

int bench_parse_args(int argc, char **argv, bench_opts *o)
{
    raw r;
    memset(&r, 0, sizeof r);
    memset(o, 0, sizeof *o);
    int rc = collect(argc, argv, &r);
    if (rc == 1) {
        bench_usage(stdout);
        return 1;
    }
    if (rc == 0 && r.version) {
        printf("nnfast-bench %s (nnfast %s; %s)\n", nnf_version_string(), nnf_version_string(),
               bench_blas_name());
        return 1;
    }
    if (rc == 0 && r.mpi && r.serve)
        return bad("give --mpi or --serve, not both");
    if (rc == 0 && r.mpi) { /* the case: mlp-wide, 1 thread per rank */
        r.name = r.name || r.layers ? r.name : "mlp-wide";
        r.threads = r.threads ? r.threads : "1";
    }
    if (rc != 0 || run_options(&r, o) != 0)
        return -1;
    o->serve = r.serve;
    o->mpi = r.mpi;
    if (r.serve && !r.layers) { /* the model served by default: digits, 784-256-128-10 */
        r.layers = "784,256,128,10";
        r.output = r.output ? r.output : "softmax";
        r.name = r.name ? r.name : "digits";
        r.batch = r.batch ? r.batch : "1,16,64";
    }
    rc = r.layers ? custom_cases(&r, o) : suite_cases(&r, o);
    if (rc == 0 && r.optimizer) {
        nnf_optimizer opt;
        if (!strcmp(r.optimizer, "sgd"))
            opt = NNF_OPT_SGD;
        else if (!strcmp(r.optimizer, "momentum"))
            opt = NNF_OPT_MOMENTUM;
        else if (!strcmp(r.optimizer, "adam"))
            opt = NNF_OPT_ADAM;
        else
            return bad("--optimizer: '%s' is not sgd, momentum or adam", r.optimizer);
        for (size_t i = 0; i < o->n_cases; i++)
            o->cases[i].optimizer = opt;
    }
    return rc;
}
