/* SPDX-License-Identifier: MIT */
/* test_unload.c - a program that loads libnnfast with dlopen, trains on two
 * threads (so the pool's workers run) and unloads it keeps running: the
 * library's destructor has stopped and joined its workers, none of which is
 * left executing code that is no longer mapped. Also a clean valgrind exit:
 * no worker's thread storage is left behind. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include "nnfast.h"

#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

static const char *g_library; /* the path of libnnfast.so, from argv[1] */

/* fp = the symbol name of h (POSIX: a dlsym result converts to a function
 * pointer; memcpy says so without a cast ISO C forbids) */
#define LOOKUP(h, fp, name)               \
    do {                                  \
        void *sym_ = dlsym((h), #name);   \
        assert_non_null(sym_);            \
        memcpy(&(fp), &sym_, sizeof(fp)); \
    } while (0)

static void train_on_two_threads(void *h)
{
    __typeof__(&nnf_set_threads) set_threads;
    LOOKUP(h, set_threads, nnf_set_threads);
    __typeof__(&nnf_net_create) create;
    LOOKUP(h, create, nnf_net_create);
    __typeof__(&nnf_net_add_dense) add_dense;
    LOOKUP(h, add_dense, nnf_net_add_dense);
    __typeof__(&nnf_net_init) init;
    LOOKUP(h, init, nnf_net_init);
    __typeof__(&nnf_net_train_step) step;
    LOOKUP(h, step, nnf_net_train_step);
    __typeof__(&nnf_net_destroy) destroy;
    LOOKUP(h, destroy, nnf_net_destroy);

    enum { N = 256, M = 256 };
    static float x[N * M], y[M];
    for (size_t i = 0; i < (size_t)N * M; i++)
        x[i] = (float)(i % 17) / 17.0f - 0.5f;
    for (size_t j = 0; j < M; j++)
        y[j] = (float)(j % 2);
    assert_int_equal(set_threads(2), NNF_OK);
    nnf_net *net = NULL;
    assert_int_equal(create(&net, N), NNF_OK);
    assert_int_equal(add_dense(net, 256, NNF_ACT_RELU, NULL), NNF_OK);
    assert_int_equal(add_dense(net, 1, NNF_ACT_SIGMOID, NULL), NNF_OK);
    assert_int_equal(init(net, NNF_INIT_DEFAULT, 7), NNF_OK);
    for (int s = 0; s < 5; s++) {
        float cost = 0;
        assert_int_equal(step(net, x, y, M, &cost), NNF_OK);
    }
    destroy(net);
}

static void test_unloading_stops_the_workers(void **state)
{
    (void)state;
    for (int round = 0; round < 3; round++) {
        void *h = dlopen(g_library, RTLD_NOW | RTLD_LOCAL);
        assert_non_null(h);
        train_on_two_threads(h);
        assert_int_equal(dlclose(h), 0);
        /* a worker left spinning or waking in the unmapped library would
         * fault within this time */
        struct timespec pause = {0, 50 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    g_library = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unloading_stops_the_workers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
