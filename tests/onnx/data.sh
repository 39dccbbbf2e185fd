# Sourced by tests/onnx.sh (and scripts/gen_golden_onnx.py): random data
# of the right shape for a CrossEntropy spec, from what `netc explain`
# says of it.  Needs $NETC.

# The per-sample input shape of spec $1, comma-separated (784, 1,28,28).
spec_dims() {
    "$NETC" explain "$1" --batch 1 |
        awk '$2 == "x" && $3 == "batch" { s = $0; sub(/.*\(1, /, "", s); sub(/\).*/, "", s); gsub(/ /, "", s); print s; exit }'
}

# The classes of spec $1's CrossEntropy loss.
spec_classes() {
    "$NETC" explain "$1" | sed -n 's/.*classes=\([0-9]*\).*/\1/p' | head -n 1
}

# make_data SPEC OUT N SEED: N rows of a class label then the inputs in
# OUT, the inputs alone in OUT.in.  Inputs are uniform in [-1, 1), or
# indices 0 to 9 for a spec with an Embedding (the test specs' have 10
# rows).
make_data() {
    dims=$(spec_dims "$1")
    classes=$(spec_classes "$1")
    size=$(echo "$dims" | tr ',' '\n' | awk 'BEGIN { p = 1 } { p *= $1 } END { print p }')
    ints=0
    grep -q 'Embedding(' "$1" && ints=1
    awk -v n="$3" -v size="$size" -v classes="$classes" -v seed="$4" -v ints="$ints" 'BEGIN {
        srand(seed)
        for (r = 0; r < n; r++) {
            line = r % classes
            for (i = 0; i < size; i++)
                line = line "," (ints ? int(rand() * 10) : sprintf("%.6f", 2 * rand() - 1))
            print line
        }
    }' >"$2"
    cut -d, -f2- "$2" >"$2.in"
}

# Whether CSV outputs $1 and $2 agree row by row within 1e-5, relative to
# the row's largest |value| (at least 1): max_i |a_i - b_i| <= 1e-5 *
# max(1, max_i |b_i|).  Prints the worst ratio found.
agree() {
    paste -d '\n' "$1" "$2" | awk -F, '
        NR % 2 == 1 { n = split($0, a, ","); next }
        {
            if (NF != n) { bad = 1; next }
            d = 0; s = 1
            for (i = 1; i <= NF; i++) {
                x = a[i] - $i; if (x < 0) x = -x; if (x > d) d = x
                y = $i < 0 ? -$i : $i; if (y > s) s = y
            }
            if (d / s > worst) worst = d / s
            rows++
        }
        END { printf "%d rows, worst %.3g\n", rows, worst; exit (bad || rows == 0 || worst > 1e-5) }'
}
