#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh - one full-batch training step of nnfast next to oneDNN, PyTorch and
# KANN on nnfast-bench's suite: the same data, the same initial weights
# (nnfast's), the loss after 10 steps checked against nnfast's, then the time
# of a step. See README.md. Run by hand, as benchmarks are:
#   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE bench/compare/run.sh --threads 1,2
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tree=$(cd "$here/../.." && pwd)

cases=""
threads="1"
format="table"
reps=0
target_s=1.0
peers_arg=""
tol_arg=""
nnfast_build="$tree/build/compare-nnfast"
installed=0
build_dir="$tree/build/compare"
kann_dir="${KANN_DIR:-}"
python="${PYTHON:-}"
verbose=0
do_build=1

# The loss check, against nnfast's run of the same case and thread count:
#  - J10, J after 10 steps, within TOL relative. digits-adam's J10 is about
#    8e-5: float32 rounding alone moves it by 3e-5 relative (README.md), so it
#    gets 1e-4.
#  - the decrease J0 - J10 within DEC_TOL relative, plus four float32 ulps of
#    J0 for the rounding of the two values: this is the check that sees a
#    wrong step where J hardly moves in 10 steps (planar: by 2e-5 relative,
#    below TOL even for a step that skips an update).
TOL_DEFAULT=1e-5
DEC_TOL=1e-2
tol_of_case() {
    if [[ -n $tol_arg ]]; then echo "$tol_arg"; return; fi
    case $1 in
    digits-adam) echo 1e-4 ;;
    *) echo "$TOL_DEFAULT" ;;
    esac
}
# KANN's own sgemm takes minutes on a case this large (GFLOP per step): the
# default peer list skips it there; --peers kann runs it anyway.
KANN_NATIVE_MAX_GFLOP=20
ALL_PEERS="nnfast,onednn,pytorch,kann+blas,kann"

usage() {
    cat <<EOF
usage: $0 [options]
  --cases a,b          suite cases to run (default: all; names: planar cat2 catL
                       mlp-med mlp-wide big digits-adam)
  --threads 1,2        thread counts (default 1)
  --peers list         of $ALL_PEERS (default: all; nnfast always runs
                       first, as the reference of the loss check)
  --format table|csv   (default table)
  --reps N             timed steps per peer (default: enough for --target-s,
                       at least 5)
  --target-s S         seconds of timed steps per case and peer (default 1.0)
  --tol X              relative tolerance of J after 10 steps for every case
                       (default 1e-5; digits-adam 1e-4); the decrease J0 - J10
                       is always checked to 1e-2
  --nnfast-build DIR   nnfast build directory, configured (Release) and built
                       here from $tree (default $nnfast_build)
  --installed          use an installed nnfast (find_package) instead
  --build DIR          build directory of the peers (default $build_dir)
  --kann-dir DIR       KANN source tree (default \$KANN_DIR; none: no KANN peers)
  --python PY          a python3 with torch and numpy (default: the first of
                       \$PYTHON, python3, /usr/bin/python3 that has them)
  --no-build           use the programs already in --build
  --verbose            also print what each peer reported about itself
                       (kernels chosen, thread settings)
Exit status: 0, or 1 when a loss check or a peer failed.
EOF
}

die() { echo "run.sh: $*" >&2; exit 2; }

while [[ $# -gt 0 ]]; do
    opt=$1
    case $opt in
    --help | -h) usage; exit 0 ;;
    --installed) installed=1; shift; continue ;;
    --verbose) verbose=1; shift; continue ;;
    --no-build) do_build=0; shift; continue ;;
    esac
    [[ $# -ge 2 ]] || die "$opt needs a value (see --help)"
    val=$2
    case $opt in
    --cases) cases=$val ;;
    --threads) threads=$val ;;
    --peers) peers_arg=$val ;;
    --format) format=$val ;;
    --reps) reps=$val ;;
    --target-s) target_s=$val ;;
    --tol) tol_arg=$val ;;
    --nnfast-build) nnfast_build=$val ;;
    --build) build_dir=$val ;;
    --kann-dir) kann_dir=$val ;;
    --python) python=$val ;;
    *) die "unknown option $opt (see --help)" ;;
    esac
    shift 2
done

[[ $format == table || $format == csv ]] || die "--format: table or csv, not '$format'"
[[ $reps =~ ^[0-9]+$ ]] || die "--reps: a count, not '$reps'"
[[ $threads =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "--threads: a list like 1,2, not '$threads'"
[[ $target_s =~ ^[0-9]*\.?[0-9]+$ ]] || die "--target-s: seconds, not '$target_s'"
if [[ -n $tol_arg ]]; then
    [[ $tol_arg =~ ^[0-9]*\.?[0-9]+([eE]-?[0-9]+)?$ ]] || die "--tol: a number, not '$tol_arg'"
fi
peers=${peers_arg:-$ALL_PEERS}
for p in ${peers//,/ }; do
    [[ ",$ALL_PEERS," == *",$p,"* ]] || die "--peers: unknown peer '$p' ($ALL_PEERS)"
done
# nnfast first: it is the reference every other loss is checked against
peers="nnfast $(tr ',' '\n' <<<"$peers" | { grep -vx nnfast || true; } | tr '\n' ' ')"

# ---- build
log() { echo "run.sh: $*" >&2; }
build_log="${TMPDIR:-/tmp}/nnfast-compare-build.$$.log"
run_logged() {
    if ! "$@" >"$build_log" 2>&1; then
        tail -n 30 "$build_log" >&2
        die "failed: $*"
    fi
}
if [[ $do_build == 1 ]]; then
    cfg=()
    if [[ $installed == 0 ]]; then
        if [[ ! -f $nnfast_build/CMakeCache.txt ]]; then
            log "configuring nnfast in $nnfast_build"
            run_logged cmake -S "$tree" -B "$nnfast_build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
                -DNNF_BUILD_TESTS=OFF -DNNF_BUILD_EXAMPLES=OFF -DNNF_BUILD_BENCH=OFF
        fi
        log "building libnnfast in $nnfast_build"
        run_logged cmake --build "$nnfast_build" --target nnfast
        cfg+=(-DNNFAST_BUILD_DIR="$nnfast_build")
    else
        cfg+=(-DNNFAST_BUILD_DIR=)
    fi
    cfg+=(-DKANN_DIR="$kann_dir")
    log "building the peers in $build_dir"
    run_logged cmake -S "$here" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "${cfg[@]}"
    run_logged cmake --build "$build_dir"
    rm -f "$build_log"
fi
bin() { echo "$build_dir/compare-$1"; }
[[ -x $(bin nnfast) ]] || die "$(bin nnfast) is missing (build without --no-build first)"

# ---- the peers that can run
declare -A skip_all # peer -> why it runs nowhere
built=" $(cat "$build_dir/peers.txt" 2>/dev/null || echo nnfast) "
[[ $built == *" onednn "* ]] || skip_all[onednn]="not built (oneDNN or OpenMP not found)"
for k in kann kann+blas; do
    [[ $built == *" $k "* ]] || skip_all[$k]="not built (no KANN: --kann-dir or KANN_DIR)"
done
if [[ -z $python ]]; then
    for py in python3 /usr/bin/python3; do
        if command -v "$py" >/dev/null && "$py" -c 'import torch, numpy' 2>/dev/null; then
            python=$py
            break
        fi
    done
fi
if [[ -z $python ]] || ! "$python" -c 'import torch, numpy' 2>/dev/null; then
    skip_all[pytorch]="no python3 with torch and numpy (Debian: apt-get install python3-torch)"
fi

# ---- the cases
declare -A layers batch gflop
all_cases=()
while read -r name ly m _hid _out _loss _opt gf; do
    all_cases+=("$name")
    layers[$name]=$ly
    batch[$name]=$m
    gflop[$name]=$gf
done < <("$(bin nnfast)" --list)
if [[ -z $cases ]]; then
    run_cases=("${all_cases[@]}")
else
    IFS=, read -r -a run_cases <<<"$cases"
    for c in "${run_cases[@]}"; do
        [[ -n ${layers[$c]:-} ]] || die "--cases: unknown case '$c' (${all_cases[*]})"
    done
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nnfast-compare.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
# |a - b| / |b| (awk: a bare > in printf's arguments would redirect to a file)
rel_diff() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; if (b < 0) b = -b;
                                               printf "%.2e", (b > 0 ? d / b : d) }'; }
# The decreases J0 - J10 of a peer (p0, p10) and of nnfast (n0, n10): their
# relative difference, and whether it is within DEC_TOL plus 4 ulps of J0.
dec_diff() { awk -v p0="$1" -v p10="$2" -v n0="$3" -v n10="$4" -v tol="$DEC_TOL" 'BEGIN {
    dp = p0 - p10; dn = n0 - n10; d = dp - dn; if (d < 0) d = -d; if (dn < 0) dn = -dn;
    printf "%.2e %d\n", (dn > 0 ? d / dn : d), (d <= tol * dn + 4 * 2^-24 * n0) }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

status=0
notes=()
info_lines=()

print_header() {
    if [[ $format == csv ]]; then
        echo "case,layers,batch,threads,peer,reps,step_ms,step_ms_min,step_ms_max,vs_nnfast,loss0,loss10,loss10_rel_diff,tol,decrease_rel_diff,check"
        return
    fi
    echo "# one full-batch training step (forward, loss, backward, update) from nnfast's initial weights;"
    echo "# ms: median (min-max) over the timed steps; x: time / nnfast's; loss10: J after 10 steps;"
    echo "# diff: its relative difference to nnfast's (tolerance $TOL_DEFAULT unless noted), dJ: that of"
    echo "# the decrease J0 - J10 (tolerance $DEC_TOL); check: ok when both are within, else MISMATCH"
    printf "%-11s %-16s %5s %3s  %-9s %5s %10s %-23s %6s  %-14s %-8s %-8s %s\n" case layers m thr \
        peer reps ms "(min-max)" x loss10 diff dJ check
}

# One output row; fields: case threads peer reps med min max x loss0 loss10 rel tol dec check
print_row() {
    local c=$1 t=$2 p=$3 r=$4 med=$5 mn=$6 mx=$7 x=$8 l0=$9 l10=${10} rel=${11} tol=${12}
    local dec=${13} chk=${14}
    if [[ $format == csv ]]; then
        echo "$c,${layers[$c]},${batch[$c]},$t,$p,$r,$med,$mn,$mx,$x,$l0,$l10,$rel,$tol,$dec,$chk"
        return
    fi
    local range="" first_c="$c" ly="${layers[$c]}" m="${batch[$c]}"
    if [[ $p != nnfast ]]; then first_c="" ly="" m=""; fi
    [[ -n $mn ]] && range="($mn-$mx)"
    printf "%-11s %-16s %5s %3s  %-9s %5s %10s %-23s %6s  %-14s %-8s %-8s %s\n" "$first_c" "$ly" \
        "$m" "$t" "$p" "$r" "$med" "$range" "$x" "$l10" "$rel" "$dec" "$chk"
}

fmt_ms() { awk -v v="$1" 'BEGIN { printf (v >= 100 ? "%.1f" : v >= 10 ? "%.2f" : v >= 1 ? "%.3f" : "%.4f"), v }'; }

print_header
for c in "${run_cases[@]}"; do
    problem=""
    tol=$(tol_of_case "$c")
    [[ $tol != "$TOL_DEFAULT" && -z $tol_arg ]] &&
        notes+=("$c: loss tolerance $tol (its J after 10 steps is tiny; README.md, \"The loss check\")")
    for t in ${threads//,/ }; do
        ref_loss="" ref_loss0="" ref_med=""
        for p in $peers; do
            if [[ -n ${skip_all[$p]:-} ]]; then
                continue
            fi
            if [[ $p == kann && -z $peers_arg ]] &&
                le "$KANN_NATIVE_MAX_GFLOP" "${gflop[$c]}"; then
                print_row "$c" "$t" "$p" "" "skipped" "" "" "" "" "" "" "$tol" "" "-"
                notes+=("kann on $c at $t thread(s): skipped, ${gflop[$c]} GFLOP a step on KANN's own sgemm (--peers ...,kann runs it)")
                continue
            fi
            [[ $format == table && -t 2 ]] && printf '\r%s t=%s: %s ...\033[K' "$c" "$t" "$p" >&2
            args=(--case "$c" --threads "$t" --reps "$reps" --target-s "$target_s")
            if [[ $p == pytorch ]]; then
                if [[ -z $problem ]]; then
                    problem="$tmp/$c.problem"
                    "$(bin nnfast)" --case "$c" --dump "$problem" 2>"$tmp/err" || {
                        cat "$tmp/err" >&2; die "writing the problem of $c failed"; }
                fi
                cmd=("$python" "$here/pytorch.py" --problem "$problem" "${args[@]}")
            else
                cmd=("$(bin "${p/+/-}")" "${args[@]}")
            fi
            rc=0
            out=$("${cmd[@]}" 2>"$tmp/err") || rc=$?
            [[ $format == table && -t 2 ]] && printf '\r\033[K' >&2
            while IFS= read -r line; do info_lines+=("$line"); done < <(grep '^info ' "$tmp/err" || true)
            line=$(grep '^result ' <<<"$out" || true)
            if [[ $rc == 3 ]]; then
                print_row "$c" "$t" "$p" "" "skipped" "" "" "" "" "" "" "$tol" "" "-"
                why=$({ grep -v '^info ' "$tmp/err" || true; } | head -n 1 | sed 's/.*unsupported: //')
                notes+=("$p on $c at $t thread(s): skipped, $why")
                continue
            fi
            if [[ $rc != 0 || -z $line ]]; then
                grep -v '^info ' "$tmp/err" >&2 || true
                echo "run.sh: $p on $c at $t thread(s) FAILED (exit $rc)" >&2
                print_row "$c" "$t" "$p" "" "FAILED" "" "" "" "" "" "" "$tol" "" "FAILED"
                status=1
                continue
            fi
            r=$(kv reps "$line")
            med=$(kv med_ms "$line")
            mn=$(kv min_ms "$line")
            mx=$(kv max_ms "$line")
            l0=$(kv loss0 "$line")
            l10=$(kv loss10 "$line")
            dec=""
            if [[ $p == nnfast ]]; then
                ref_loss=$l10 ref_loss0=$l0 ref_med=$med
                rel="" chk="ref"
            elif [[ -z $ref_loss ]]; then
                rel="" chk="no-ref"
            else
                rel=$(rel_diff "$l10" "$ref_loss")
                read -r dec dec_ok < <(dec_diff "$l0" "$l10" "$ref_loss0" "$ref_loss")
                chk="ok"
                if ! le "$rel" "$tol"; then
                    chk="MISMATCH"
                    echo "run.sh: LOSS MISMATCH: $p on $c at $t thread(s): J after 10 steps $l10," \
                        "nnfast's $ref_loss: relative difference $rel > $tol" >&2
                fi
                if [[ $dec_ok != 1 ]]; then
                    chk="MISMATCH"
                    echo "run.sh: LOSS MISMATCH: $p on $c at $t thread(s): J decreased from $l0 to" \
                        "$l10, nnfast's from $ref_loss0 to $ref_loss: the decreases differ by $dec" \
                        "relative > $DEC_TOL" >&2
                fi
                [[ $chk == ok ]] || status=1
            fi
            x=""
            [[ -n $ref_med ]] && x=$(awk -v a="$med" -v b="$ref_med" 'BEGIN { printf "%.2f", a / b }')
            if [[ $format == table ]]; then
                print_row "$c" "$t" "$p" "$r" "$(fmt_ms "$med")" "$(fmt_ms "$mn")" "$(fmt_ms "$mx")" \
                    "$x" "$l0" "$l10" "$rel" "$tol" "$dec" "$chk"
            else
                print_row "$c" "$t" "$p" "$r" "$med" "$mn" "$mx" "$x" "$l0" "$l10" "$rel" "$tol" \
                    "$dec" "$chk"
            fi
        done
    done
    [[ -n $problem ]] && rm -f "$problem"
done

if [[ $format == table ]]; then
    for p in $peers; do
        [[ -n ${skip_all[$p]:-} ]] && notes+=("$p: ${skip_all[$p]}")
    done
    for n in "${notes[@]}"; do echo "# note: $n"; done
    if [[ $verbose == 1 ]]; then
        printf '# %s\n' "${info_lines[@]}" | awk '!seen[$0]++'
    fi
else
    for n in "${notes[@]}"; do echo "run.sh: note: $n" >&2; done
    [[ $verbose == 1 ]] && printf '%s\n' "${info_lines[@]}" >&2
fi
if [[ $status != 0 ]]; then
    echo "run.sh: FAILED: a peer failed or its loss after 10 steps disagrees with nnfast's" >&2
fi
exit $status
