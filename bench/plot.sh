#!/bin/sh
# SPDX-License-Identifier: MIT
# plot.sh - an SVG bar chart of the efficiency (GEMM-only / step time) of each
# shape at each thread count, from nnfast-bench --format csv. Needs gnuplot
# (Debian/Ubuntu: apt-get install gnuplot-nox).
#
# usage: bench/plot.sh results.csv out.svg
#   e.g. nnfast-bench --threads 1,2 --format csv > results.csv
set -eu

if [ $# -ne 2 ]; then
    echo "usage: $0 results.csv out.svg  (csv of nnfast-bench --format csv; needs gnuplot)" >&2
    exit 2
fi
csv=$1
svg=$2
if [ ! -r "$csv" ]; then
    echo "$0: cannot read $csv" >&2
    exit 2
fi
if ! command -v gnuplot >/dev/null 2>&1; then
    echo "$0: needs gnuplot (e.g. apt-get install gnuplot-nox)" >&2
    exit 1
fi

data=$(mktemp)
trap 'rm -f "$data"' EXIT

# One row per shape (name, layers, batch), one column per thread count, by
# the header's key names; "?" where a shape was not run at that count.
awk -F, '
NR == 1 {
    for (i = 1; i <= NF; i++) col[$i] = i
    split("name layers batch threads efficiency", need, " ")
    for (k in need) if (!(need[k] in col)) {
        print "no column " need[k] " in the csv header" > "/dev/stderr"; bad = 1; exit 1
    }
    next
}
NF < col["efficiency"] { next }
{
    key = $col["name"] "\\n" $col["layers"] "\\nm=" $col["batch"]
    if (!(key in seen)) { seen[key] = 1; keys[++nk] = key }
    t = $col["threads"] + 0
    if (!(t in tseen)) { tseen[t] = 1; ts[++nt] = t }
    eff[key, t] = $col["efficiency"]
}
END {
    if (bad) exit 1
    if (nk == 0) { print "no data rows in the csv" > "/dev/stderr"; exit 1 }
    for (i = 2; i <= nt; i++)          # thread counts in increasing order
        for (j = i; j > 1 && ts[j - 1] > ts[j]; j--) { x = ts[j]; ts[j] = ts[j - 1]; ts[j - 1] = x }
    printf "shape"
    for (i = 1; i <= nt; i++) printf "\t%d thread%s", ts[i], ts[i] == 1 ? "" : "s"
    printf "\n"
    for (k = 1; k <= nk; k++) {
        printf "%s", keys[k]
        for (i = 1; i <= nt; i++) printf "\t%s", ((keys[k], ts[i]) in eff) ? eff[keys[k], ts[i]] : "?"
        printf "\n"
    }
}' "$csv" > "$data"

ncol=$(head -n 1 "$data" | awk -F'\t' '{ print NF }')
nrow=$(($(wc -l < "$data") - 1))
width=$((260 + 150 * nrow))

gnuplot <<GNUPLOT
set terminal svg size $width,520 dynamic enhanced font "sans,12" background "white"
set output "$svg"
set datafile separator "\t"
set datafile missing "?"
set key autotitle columnheader
set title "nnfast-bench: efficiency = GEMM-only time / train-step time (1 = at BLAS speed)"
set ylabel "efficiency"
set yrange [0:*]
set offsets 0, 0, 0.12, 0
set grid ytics
set key outside right top
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics noenhanced nomirror font ",10"
set arrow from graph 0, first 1 to graph 1, first 1 nohead dashtype 2 linecolor rgb "#666666"
set bmargin 5
n = $ncol - 1
# bar j of n in a cluster of gap 1 is centred at x + (j - (n-1)/2) / (n+1)
plot for [i=2:$ncol] "$data" using i:xtic(1), \\
     for [i=2:$ncol] "$data" using (\$0 + (i - 2 - (n - 1) / 2.0) / (n + 1)):i:(sprintf("%.2f", column(i))) \\
         with labels offset 0, 0.6 font ",9" notitle
GNUPLOT
echo "$0: wrote $svg" >&2
