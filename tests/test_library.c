/* SPDX-License-Identifier: MIT */
/* test_library.c - black-box: what belongs to the process rather than to a
 * net: the version, the status texts, the thread count of the products, and
 * the allocator hook. (Their bad inputs are in test_errors.c.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "assert_ok.h"
#include "count_alloc.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "nnfast.h"

static void test_version_number_and_string_match_the_header(void **state)
{
    (void)state;
    char want[32];
    assert_int_equal(nnf_version_number(), NNF_VERSION_NUMBER);
    assert_int_equal(NNF_VERSION_NUMBER,
                     NNF_VERSION_MAJOR * 10000 + NNF_VERSION_MINOR * 100 + NNF_VERSION_PATCH);
    snprintf(want, sizeof want, "%d.%d.%d", NNF_VERSION_MAJOR, NNF_VERSION_MINOR,
             NNF_VERSION_PATCH);
    assert_string_equal(nnf_version_string(), want);
}

static void test_status_str_gives_each_code_its_own_text_and_unknown_for_others(void **state)
{
    static const nnf_status codes[] = {NNF_OK,        NNF_ERR_ARG,   NNF_ERR_SHAPE,
                                       NNF_ERR_NOMEM, NNF_ERR_STATE, NNF_ERR_NUMERIC,
                                       NNF_ERR_IO,    NNF_ERR_FORMAT};
    static const int unknown[] = {8, 42, 99, -1, INT_MAX};
    const size_t n = sizeof codes / sizeof codes[0];
    (void)state;
    for (size_t i = 0; i < n; i++) {
        const char *s = nnf_status_str(codes[i]);
        assert_non_null(s);
        assert_true(s[0] != '\0');
        assert_null(strstr(s, "unknown"));
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(s, nnf_status_str(codes[j]));
    }
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        assert_string_equal(nnf_status_str((nnf_status)unknown[i]), "unknown status");
}

/* Two counts other than the starting one (1 under ctest), so that a setter
 * that ignores its argument cannot pass. */
static void test_thread_count_reads_back_what_was_set(void **state)
{
    (void)state;
    int before = nnf_get_threads();
    assert_true(before >= 1);
    assert_ok(NULL, nnf_set_threads(2));
    assert_int_equal(nnf_get_threads(), 2);
    assert_ok(NULL, nnf_set_threads(1));
    assert_int_equal(nnf_get_threads(), 1);
    assert_ok(NULL, nnf_set_threads(before));
    assert_int_equal(nnf_get_threads(), before);
}

/* The plan mode reads back what was set; a value outside the enum is
 * refused with the name of the call and changes nothing. */
static void test_plan_mode_reads_back_and_refuses_other_values(void **state)
{
    (void)state;
    assert_int_equal(nnf_get_plan_mode(), NNF_PLAN_REPRODUCIBLE);
    assert_ok(NULL, nnf_set_plan_mode(NNF_PLAN_FASTEST));
    assert_int_equal(nnf_get_plan_mode(), NNF_PLAN_FASTEST);
    assert_int_equal(nnf_set_plan_mode((nnf_plan_mode)7), NNF_ERR_ARG);
    assert_int_equal(nnf_get_plan_mode(), NNF_PLAN_FASTEST);
    assert_ok(NULL, nnf_set_plan_mode(NNF_PLAN_REPRODUCIBLE));
    assert_int_equal(nnf_get_plan_mode(), NNF_PLAN_REPRODUCIBLE);
}

/* The hook gets the user pointer it was installed with (count_alloc counts
 * into it), and both functions NULL go back to malloc and free: the counter
 * then sees nothing. */
static void test_allocator_hook_gets_its_user_pointer_and_null_null_restores_malloc(void **state)
{
    nnf_net *net = NULL;
    (void)state;
    assert_ok(NULL, nnf_set_allocator(count_alloc, count_free, &g_count));
    assert_ok(net, nnf_net_create(&net, 3));
    assert_ok(net, nnf_net_add_dense(net, 2, NNF_ACT_SIGMOID, NULL));
    assert_true(g_count.allocs > 0 && g_count.live > 0);
    nnf_net_destroy(net);
    assert_int_equal(g_count.live, 0);

    long allocs = g_count.allocs, frees = g_count.frees;
    assert_ok(NULL, nnf_set_allocator(NULL, NULL, NULL));
    assert_ok(net, nnf_net_create(&net, 3));
    assert_ok(net, nnf_net_add_dense(net, 2, NNF_ACT_SIGMOID, NULL));
    nnf_net_destroy(net);
    assert_int_equal(g_count.allocs, allocs);
    assert_int_equal(g_count.frees, frees);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_number_and_string_match_the_header),
        cmocka_unit_test(test_status_str_gives_each_code_its_own_text_and_unknown_for_others),
        cmocka_unit_test(test_thread_count_reads_back_what_was_set),
        cmocka_unit_test(test_plan_mode_reads_back_and_refuses_other_values),
        cmocka_unit_test_teardown(
            test_allocator_hook_gets_its_user_pointer_and_null_null_restores_malloc,
            count_alloc_remove),
    };
    return cmocka_run_group_tests_name("library", tests, NULL, NULL);
}
