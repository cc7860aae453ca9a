/* SPDX-License-Identifier: MIT */
/* report.c - the figures of each case as one line: an aligned table, csv
 * (a header, then the keys below) or one JSON object per line. */
#include "bench.h"

#include <stdarg.h>
#include <string.h>

#define LAYERS_LEN 256

/* One key and its value, formatted; quoted ones are JSON strings. */
typedef struct field {
    const char *key;
    char val[LAYERS_LEN];
    int quoted;
} field;

#define MAX_FIELDS 64

/* Milliseconds with 4 significant digits and no exponent: diffable. */
static void fmt_ms(char *buf, size_t len, double s)
{
    double ms = s * 1e3;
    int dec = ms >= 1000   ? 0
              : ms >= 100  ? 1
              : ms >= 10   ? 2
              : ms >= 1    ? 3
              : ms >= 0.1  ? 4
              : ms >= 0.01 ? 5
                           : 6;
    snprintf(buf, len, "%.*f", dec, ms);
}

/* 1536 -> "1.5K", 276824064 -> "264.0M" (binary units). */
static void fmt_bytes(char *buf, size_t len, size_t b)
{
    if (b < 1024)
        snprintf(buf, len, "%zuB", b);
    else if (b < (size_t)1 << 20)
        snprintf(buf, len, "%.1fK", (double)b / 1024.0);
    else if (b < (size_t)1 << 30)
        snprintf(buf, len, "%.1fM", (double)b / 1048576.0);
    else
        snprintf(buf, len, "%.2fG", (double)b / 1073741824.0);
}

#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
static void
add(field *f, size_t *n, const char *key, int quoted, const char *fmt, ...)
{
    va_list ap;
    f[*n].key = key;
    f[*n].quoted = quoted;
    va_start(ap, fmt);
    vsnprintf(f[*n].val, sizeof f[*n].val, fmt, ap);
    va_end(ap);
    (*n)++;
}

static void add_stats(field *f, size_t *n, const char *k_med, const char *k_min, const char *k_max,
                      const bench_stats *s)
{
    add(f, n, k_med, 0, "%.6g", s->med * 1e3);
    add(f, n, k_min, 0, "%.6g", s->min * 1e3);
    add(f, n, k_max, 0, "%.6g", s->max * 1e3);
}

/* The csv and json keys and values of r, in order (the csv header is the
 * keys of any r). layers: "784-256-128-1" in csv, [784,256,128,1] in json;
 * names need no escaping (cli.c allows [A-Za-z0-9_.+-] only). */
static size_t fields_of(const bench_result *r, int json, field *f)
{
    char layers[LAYERS_LEN];
    size_t n = 0;
    bench_layers_str(r->c, json ? ',' : '-', layers, sizeof layers);
    add(f, &n, "name", 1, "%s", r->c->name);
    add(f, &n, "layers", 0, json ? "[%s]" : "%s", layers);
    add(f, &n, "batch", 0, "%zu", r->c->m);
    add(f, &n, "threads", 0, "%d", r->threads);
    add(f, &n, "hidden", 1, "%s", bench_act_name(r->c->hidden));
    add(f, &n, "output", 1, "%s", bench_act_name(r->c->output));
    add(f, &n, "loss", 1, "%s", bench_loss_name(r->c->loss));
    add(f, &n, "optimizer", 1, "%s", bench_optimizer_name(r->c->optimizer));
    add(f, &n, "reps", 0, "%d", r->reps);
    add_stats(f, &n, "step_ms", "step_ms_min", "step_ms_max", &r->step);
    add_stats(f, &n, "forward_ms", "forward_ms_min", "forward_ms_max", &r->fwd);
    add_stats(f, &n, "backward_ms", "backward_ms_min", "backward_ms_max", &r->bwd);
    add_stats(f, &n, "update_ms", "update_ms_min", "update_ms_max", &r->upd);
    add(f, &n, "upd_ms", 0, "%.6g", r->upd.med * 1e3);
    add_stats(f, &n, "gemm_ms", "gemm_ms_min", "gemm_ms_max", &r->gemm);
    add_stats(f, &n, "gemm1_ms", "gemm1_ms_min", "gemm1_ms_max", &r->gemm1);
    add(f, &n, "floor_ms", 0, "%.6g", r->floor_ms);
    add(f, &n, "floor_eff", 0, "%.4f", r->floor_eff);
    add(f, &n, "peak_gflops", 0, "%.4g", r->peak_gflops);
    add(f, &n, "read_gbs", 0, "%.4g", r->read_gbs);
    add(f, &n, "blas", 1, "%s", bench_blas_name());
    add(f, &n, "plan", 1, "%s",
        nnf_get_plan_mode() == NNF_PLAN_FASTEST ? "fastest" : "reproducible");
    add(f, &n, "efficiency", 0, "%.4f", r->efficiency);
    add(f, &n, "gflops", 0, "%.4g", r->gflops);
    add(f, &n, "allocs_per_step", 0, "%.4g", r->allocs_per_step);
    add(f, &n, "bytes_held", 0, "%zu", r->bytes_held);
    add(f, &n, "bytes_min", 0, "%zu", r->bytes_min);
    add(f, &n, "mem_ratio", 0, "%.4f",
        r->bytes_min ? (double)r->bytes_held / (double)r->bytes_min : 0.0);
    add(f, &n, "check_batch", 0, "%zu", r->check_m);
    add(f, &n, "check_rel_err", 0, "%.3e", r->check_err);
    return n;
}

static void csv_header(FILE *out)
{
    static const bench_case none;
    bench_result r;
    field f[MAX_FIELDS];
    memset(&r, 0, sizeof r);
    r.c = &none;
    size_t n = fields_of(&r, 0, f);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s%s", i ? "," : "", f[i].key);
    fputc('\n', out);
}

void report_begin(bench_report *rp, FILE *f, const bench_opts *o, const bench_machine *mach)
{
    char layers[LAYERS_LEN];
    rp->f = f;
    rp->format = o->format;
    rp->name_w = 4;
    rp->layers_w = 6;
    for (size_t i = 0; i < o->n_cases; i++) {
        bench_layers_str(&o->cases[i], '-', layers, sizeof layers);
        int nw = (int)strlen(o->cases[i].name), lw = (int)strlen(layers);
        rp->name_w = nw > rp->name_w ? nw : rp->name_w;
        rp->layers_w = lw > rp->layers_w ? lw : rp->layers_w;
    }
    if (rp->format == BENCH_CSV) {
        csv_header(f);
    } else if (rp->format == BENCH_TABLE) {
        fprintf(f,
                "# nnfast %s on %s, plan %s\n"
                "# times in ms, median over reps (step: also min and max); gemm = the GEMMs of\n"
                "# nnfast's plan alone, gemm1 = one call per product; floor = max(flops / peak,\n"
                "# bytes / bandwidth) and feff = floor / step; mem = held / min;\n"
                "# each case first passed a check of one step at m = min(m, %d) "
                "against the float64 reference (check = max rel err)\n",
                nnf_version_string(), bench_blas_name(),
                nnf_get_plan_mode() == NNF_PLAN_FASTEST ? "fastest" : "reproducible",
                BENCH_CHECK_M);
        for (size_t k = 0; k < o->n_threads; k++)
            fprintf(f, "# %d thread(s): sgemm peak %.1f GFLOP/s, read %.1f GB/s (cache %zu KiB)\n",
                    mach[k].threads, mach[k].peak_gflops, mach[k].read_gbs,
                    mach[k].cache_bytes >> 10);
        fprintf(f,
                "%-*s  %-*s %5s %3s %5s %9s %9s %9s %9s %9s %9s %9s %9s %9s %5s %7s %6s %7s %5s "
                "%7s\n",
                rp->name_w, "name", rp->layers_w, "layers", "m", "thr", "reps", "step_ms", "min",
                "max", "fwd_ms", "bwd_ms", "upd_ms", "gemm_ms", "gemm1_ms", "floor_ms", "feff",
                "GFLOP/s", "allocs", "held", "mem", "check");
    }
    fflush(f);
}

static void row_table(const bench_report *rp, const bench_result *r, const char *layers)
{
    char t[9][32], held[16];
    const bench_stats *s[] = {&r->step, &r->step, &r->step, &r->fwd,
                              &r->bwd,  &r->upd,  &r->gemm, &r->gemm1};
    for (int i = 0; i < 8; i++)
        fmt_ms(t[i], sizeof t[i], i == 1 ? s[i]->min : i == 2 ? s[i]->max : s[i]->med);
    fmt_ms(t[8], sizeof t[8], r->floor_ms * 1e-3);
    fmt_bytes(held, sizeof held, r->bytes_held);
    fprintf(rp->f,
            "%-*s  %-*s %5zu %3d %5d %9s %9s %9s %9s %9s %9s %9s %9s %9s %5.3f %7.2f %6.2f %7s "
            "%5.3f %7.1e\n",
            rp->name_w, r->c->name, rp->layers_w, layers, r->c->m, r->threads, r->reps, t[0], t[1],
            t[2], t[3], t[4], t[5], t[6], t[7], t[8], r->floor_eff, r->gflops, r->allocs_per_step,
            held, (double)r->bytes_held / (double)r->bytes_min, r->check_err);
}

void report_row(const bench_report *rp, const bench_result *r)
{
    if (rp->format == BENCH_TABLE) {
        char layers[LAYERS_LEN];
        bench_layers_str(r->c, '-', layers, sizeof layers);
        row_table(rp, r, layers);
    } else {
        int json = rp->format == BENCH_JSON;
        field f[MAX_FIELDS];
        size_t n = fields_of(r, json, f);
        fputs(json ? "{" : "", rp->f);
        for (size_t i = 0; i < n; i++) {
            const char *q = json && f[i].quoted ? "\"" : "";
            if (json)
                fprintf(rp->f, "%s\"%s\":%s%s%s", i ? "," : "", f[i].key, q, f[i].val, q);
            else
                fprintf(rp->f, "%s%s", i ? "," : "", f[i].val);
        }
        fputs(json ? "}\n" : "\n", rp->f);
    }
    fflush(rp->f);
}
