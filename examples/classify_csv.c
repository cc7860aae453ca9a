/* SPDX-License-Identifier: MIT */
/*
 * classify_csv.c - a classifier for a CSV file, from raw columns to a saved
 * model that predicts from raw columns.
 *
 *     classify_csv data.csv model.nnf [seed]
 *
 * data.csv: a header line of column names, then one sample per line, every
 * column a number except the last, the class (any text: "setosa", "0").
 * The samples are split with seed (default 1) into 70% training, 15%
 * validation and 15% test. nnfast's trainer fits the input scaling to the
 * training part, trains a softmax net with dropout, Adam, a cosine
 * learning-rate schedule and early stopping on the validation part, and
 * prints one line per epoch; then the test accuracy. The model, with the
 * scaling, the column and class names as metadata, is written to
 * model.nnf (kept), loaded back and checked to predict the same classes
 * from the raw test columns.
 */
#define _POSIX_C_SOURCE 200809L /* getline */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnfast.h"

enum {
    HIDDEN1 = 32,
    HIDDEN2 = 16,
    BATCH = 32,
    EPOCHS = 200,
    PATIENCE = 25,
    MAX_CLASSES = 256,
    MAX_COLUMNS = 4096
};
#define LEARNING_RATE 0.005
#define DROPOUT       0.1f
#define COSINE_FLOOR  0.05 /* the last epochs train at 5% of the rate */

/* On failure of an nnfast call: say what failed and why, then clean up. */
#define CHECK(call, errmsg)                                                         \
    do {                                                                            \
        nnf_status st_ = (call);                                                    \
        if (st_ != NNF_OK) {                                                        \
            fprintf(stderr, "%s: %s (%s)\n", #call, nnf_status_str(st_), (errmsg)); \
            goto done;                                                              \
        }                                                                           \
    } while (0)

/* The data set as read: n features per sample, row after row, and each
 * sample's class, an index into the class names in order of appearance. */
typedef struct table {
    size_t n, m, cap;
    float *x;          /* m rows of n features */
    uint32_t *label;   /* m classes */
    char *header;      /* the first line, for the metadata */
    char *class_names; /* "name,name,..." */
    char *names[MAX_CLASSES];
    size_t classes;
} table;

static void table_free(table *t)
{
    free(t->x);
    free(t->label);
    free(t->header);
    free(t->class_names);
    for (size_t k = 0; k < t->classes; k++)
        free(t->names[k]);
}

static void chomp(char *s)
{
    size_t len = strlen(s);
    while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
        s[--len] = '\0';
}

static size_t count_columns(const char *line)
{
    size_t n = 1;
    for (const char *c = line; *c; c++)
        n += *c == ',';
    return n;
}

/* The index of class name, added when new; -1 when there are too many. */
static long class_index(table *t, const char *name)
{
    for (size_t k = 0; k < t->classes; k++)
        if (strcmp(t->names[k], name) == 0)
            return (long)k;
    if (t->classes == MAX_CLASSES)
        return -1;
    char *copy = malloc(strlen(name) + 1);
    if (!copy)
        return -1;
    strcpy(copy, name);
    t->names[t->classes] = copy;
    return (long)t->classes++;
}

/* Parse one sample line into row x and its class; 0 on success, else a
 * message in err. */
static int parse_row(table *t, char *line, float *x, uint32_t *label, char *err, size_t cap)
{
    char *field = line;
    for (size_t j = 0; j < t->n; j++) {
        char *comma = strchr(field, ',');
        if (!comma) {
            snprintf(err, cap, "%zu columns, the header has %zu", j + 1, t->n + 1);
            return -1;
        }
        *comma = '\0';
        char *end;
        errno = 0;
        double v = strtod(field, &end);
        while (*end == ' ' || *end == '\t')
            end++;
        if (end == field || *end != '\0' || errno == ERANGE || v != v) {
            snprintf(err, cap, "column %zu is '%s', not a number", j + 1, field);
            return -1;
        }
        x[j] = (float)v;
        field = comma + 1;
    }
    if (strchr(field, ',')) {
        snprintf(err, cap, "more columns than the header's %zu", t->n + 1);
        return -1;
    }
    long k = class_index(t, field);
    if (k < 0) {
        snprintf(err, cap, "more than %d classes (or out of memory)", MAX_CLASSES);
        return -1;
    }
    *label = (uint32_t)k;
    return 0;
}

static int grow(table *t)
{
    size_t cap = t->cap ? 2 * t->cap : 256;
    float *x = realloc(t->x, cap * t->n * sizeof *x);
    if (!x)
        return -1;
    t->x = x;
    uint32_t *label = realloc(t->label, cap * sizeof *label);
    if (!label)
        return -1;
    t->label = label;
    t->cap = cap;
    return 0;
}

static int read_csv(const char *path, table *t)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    char *line = NULL, err[160];
    size_t len = 0;
    int ok = -1;
    size_t line_no = 1;
    if (getline(&line, &len, f) < 0) {
        fprintf(stderr, "%s: empty (expected a header line of column names)\n", path);
        goto out;
    }
    chomp(line);
    size_t columns = count_columns(line);
    if (columns < 2 || columns > MAX_COLUMNS) {
        fprintf(stderr,
                "%s: %zu columns in the header (expected 2 to %d: features, then the class)\n",
                path, columns, MAX_COLUMNS);
        goto out;
    }
    t->n = columns - 1;
    t->header = malloc(strlen(line) + 1);
    if (!t->header)
        goto out;
    strcpy(t->header, line);
    while (getline(&line, &len, f) >= 0) {
        line_no++;
        chomp(line);
        if (line[0] == '\0')
            continue;
        if (t->m == t->cap && grow(t) != 0) {
            fprintf(stderr, "%s: out of memory at line %zu\n", path, line_no);
            goto out;
        }
        if (parse_row(t, line, t->x + t->m * t->n, t->label + t->m, err, sizeof err) != 0) {
            fprintf(stderr, "%s:%zu: %s\n", path, line_no, err);
            goto out;
        }
        t->m++;
    }
    if (t->m < 20 || t->classes < 2) {
        fprintf(stderr, "%s: %zu samples of %zu classes (expected at least 20 and 2)\n", path, t->m,
                t->classes);
        goto out;
    }
    size_t names_len = 0;
    for (size_t k = 0; k < t->classes; k++)
        names_len += strlen(t->names[k]) + 1;
    t->class_names = malloc(names_len);
    if (!t->class_names)
        goto out;
    t->class_names[0] = '\0';
    for (size_t k = 0; k < t->classes; k++) {
        if (k)
            strcat(t->class_names, ",");
        strcat(t->class_names, t->names[k]);
    }
    ok = 0;
out:
    free(line);
    fclose(f);
    return ok;
}

/* splitmix64: the example's own shuffle of the rows before the split. */
static uint64_t next_random(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Rows first..first+count of the shuffled order as x (count x n) and one-hot
 * y (count x classes). */
static void gather(const table *t, const size_t *order, size_t first, size_t count, float *x,
                   float *y, uint32_t *labels)
{
    for (size_t i = 0; i < count; i++) {
        size_t r = order[first + i];
        memcpy(x + i * t->n, t->x + r * t->n, t->n * sizeof *x);
        for (size_t k = 0; k < t->classes; k++)
            y[i * t->classes + k] = t->label[r] == k ? 1.0f : 0.0f;
        labels[i] = t->label[r];
    }
}

/* The progress line of each epoch. */
static int print_epoch(const nnf_progress *p, void *user)
{
    (void)user;
    if (nnf_progress_get(p, NNF_PROGRESS_EPOCH_END) == 0)
        return 0;
    printf("epoch %4.0f  cost %.4f  validation loss %.4f  accuracy %5.1f%%  rate %.5f\n",
           nnf_progress_get(p, NNF_PROGRESS_EPOCH) + 1, nnf_progress_get(p, NNF_PROGRESS_COST),
           nnf_progress_get(p, NNF_PROGRESS_VAL_COST),
           100 * nnf_progress_get(p, NNF_PROGRESS_VAL_ACCURACY),
           nnf_progress_get(p, NNF_PROGRESS_LEARNING_RATE));
    return 0;
}

static double accuracy(const uint32_t *got, const uint32_t *want, size_t m)
{
    size_t right = 0;
    for (size_t i = 0; i < m; i++)
        right += got[i] == want[i];
    return (double)right / (double)m;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: classify_csv data.csv model.nnf [seed]\n");
        return EXIT_FAILURE;
    }
    uint64_t seed = argc == 4 ? strtoull(argv[3], NULL, 10) : 1;
    table t = {0};
    nnf_net *net = NULL, *loaded = NULL;
    nnf_trainer *trainer = NULL;
    size_t *order = NULL;
    float *x = NULL, *y = NULL;
    uint32_t *labels = NULL, *predicted = NULL, *predicted2 = NULL;
    char err[256] = "";
    int status = EXIT_FAILURE;

    if (read_csv(argv[1], &t) != 0)
        goto done;
    size_t m = t.m, n = t.n, k = t.classes;
    size_t m_train = m * 70 / 100, m_val = m * 15 / 100, m_test = m - m_train - m_val;
    printf("%s: %zu samples, %zu features, %zu classes (%s)\n", argv[1], m, n, k, t.class_names);
    printf("split with seed %llu: %zu training, %zu validation, %zu test\n",
           (unsigned long long)seed, m_train, m_val, m_test);

    order = malloc(m * sizeof *order);
    x = malloc(m * n * sizeof *x);
    y = malloc(m * k * sizeof *y);
    labels = malloc(m * sizeof *labels);
    predicted = malloc(m_test * sizeof *predicted);
    predicted2 = malloc(m_test * sizeof *predicted2);
    if (!order || !x || !y || !labels || !predicted || !predicted2) {
        fprintf(stderr, "classify_csv: out of memory\n");
        goto done;
    }
    for (size_t i = 0; i < m; i++)
        order[i] = i;
    uint64_t s = seed;
    for (size_t i = m - 1; i > 0; i--) { /* Fisher-Yates */
        size_t j = (size_t)(next_random(&s) % (i + 1));
        size_t tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
    gather(&t, order, 0, m, x, y, labels); /* training, validation, test in a row */
    const float *x_val = x + m_train * n, *x_test = x + (m_train + m_val) * n;
    const float *y_val = y + m_train * k;
    const uint32_t *labels_test = labels + m_train + m_val;

    CHECK(nnf_net_create(&net, n), "");
    nnf_layer *hidden1, *hidden2;
    CHECK(nnf_net_add_dense(net, HIDDEN1, NNF_ACT_RELU, &hidden1), nnf_net_errmsg(net));
    CHECK(nnf_net_add_dense(net, HIDDEN2, NNF_ACT_RELU, &hidden2), nnf_net_errmsg(net));
    CHECK(nnf_net_add_dense(net, k, NNF_ACT_SOFTMAX, NULL), nnf_net_errmsg(net));
    CHECK(nnf_layer_set_dropout(hidden1, DROPOUT), nnf_net_errmsg(net));
    CHECK(nnf_layer_set_dropout(hidden2, DROPOUT), nnf_net_errmsg(net));
    CHECK(nnf_net_set_loss(net, NNF_LOSS_CROSS_ENTROPY), nnf_net_errmsg(net));
    CHECK(nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAM), nnf_net_errmsg(net));
    CHECK(nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, LEARNING_RATE), nnf_net_errmsg(net));
    CHECK(nnf_net_init(net, NNF_INIT_DEFAULT, seed), nnf_net_errmsg(net));
    /* the scaling of the training part only: validation and test stay unseen */
    CHECK(nnf_net_fit_input_scaling(net, x, m_train), nnf_net_errmsg(net));
    /* the names go with the model when they fit its metadata limits */
    if (strlen(t.header) <= NNF_META_VALUE_MAX)
        CHECK(nnf_net_set_meta(net, "columns", t.header), nnf_net_errmsg(net));
    if (strlen(t.class_names) <= NNF_META_VALUE_MAX)
        CHECK(nnf_net_set_meta(net, "classes", t.class_names), nnf_net_errmsg(net));

    CHECK(nnf_trainer_create(&trainer), "out of memory");
    CHECK(nnf_trainer_set(trainer, NNF_TRAIN_BATCH_SIZE, BATCH), nnf_trainer_errmsg(trainer));
    CHECK(nnf_trainer_set(trainer, NNF_TRAIN_EPOCHS, EPOCHS), nnf_trainer_errmsg(trainer));
    CHECK(nnf_trainer_set(trainer, NNF_TRAIN_SEED, (double)seed), nnf_trainer_errmsg(trainer));
    CHECK(nnf_trainer_set(trainer, NNF_TRAIN_PATIENCE, PATIENCE), nnf_trainer_errmsg(trainer));
    CHECK(nnf_trainer_set(trainer, NNF_TRAIN_SCHEDULE, NNF_SCHEDULE_COSINE),
          nnf_trainer_errmsg(trainer));
    CHECK(nnf_trainer_set(trainer, NNF_TRAIN_DECAY, COSINE_FLOOR), nnf_trainer_errmsg(trainer));
    CHECK(nnf_trainer_set(trainer, NNF_TRAIN_DECAY_EPOCHS, EPOCHS), nnf_trainer_errmsg(trainer));
    CHECK(nnf_trainer_set_validation(trainer, x_val, y_val, m_val), nnf_trainer_errmsg(trainer));
    CHECK(nnf_trainer_set_progress(trainer, print_epoch, NULL), nnf_trainer_errmsg(trainer));
    CHECK(nnf_trainer_run(trainer, net, x, y, m_train), nnf_trainer_errmsg(trainer));

    double run = 0, best = 0, best_loss = 0, stopped = 0;
    nnf_trainer_result(trainer, NNF_RESULT_EPOCHS_RUN, &run);
    nnf_trainer_result(trainer, NNF_RESULT_BEST_EPOCH, &best);
    nnf_trainer_result(trainer, NNF_RESULT_BEST_VAL_COST, &best_loss);
    nnf_trainer_result(trainer, NNF_RESULT_STOPPED_EARLY, &stopped);
    printf("%s after %.0f epochs; kept epoch %.0f (validation loss %.4f)\n",
           stopped == 1 ? "stopped early" : "ran every epoch", run, best + 1, best_loss);

    CHECK(nnf_net_classify(net, x_test, m_test, predicted), nnf_net_errmsg(net));
    double test_accuracy = accuracy(predicted, labels_test, m_test);
    printf("test accuracy: %.2f%% of %zu samples\n", 100 * test_accuracy, m_test);

    CHECK(nnf_net_save(net, argv[2], 0), nnf_net_errmsg(net));
    CHECK(nnf_net_load(&loaded, argv[2], err, sizeof err), err);
    CHECK(nnf_net_classify(loaded, x_test, m_test, predicted2), nnf_net_errmsg(loaded));
    if (memcmp(predicted, predicted2, m_test * sizeof *predicted) != 0) {
        fprintf(stderr, "classify_csv: the loaded model predicts other classes\n");
        goto done;
    }
    printf("saved %s (kept): it predicts the same classes from the raw columns\n", argv[2]);
    status = EXIT_SUCCESS;
done:
    nnf_net_destroy(loaded);
    nnf_net_destroy(net);
    nnf_trainer_destroy(trainer);
    free(order);
    free(x);
    free(y);
    free(labels);
    free(predicted);
    free(predicted2);
    table_free(&t);
    return status;
}
