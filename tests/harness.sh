# Sourced by the shell tests (tests/cli.sh, tests/data.sh, tests/embed.sh,
# tests/mcu.sh): the netc to test as an absolute path (they change
# directory), a scratch directory $T removed on exit, the pass/fail
# counters that their closing line, "NAME: N passed, N failed", reports,
# and the checks they share.
NETC=$(cd "$(dirname "${1:-./netc}")" && pwd)/$(basename "${1:-./netc}")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
failed=0
ok() { pass=$((pass + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

# expect STATUS CMD... : run CMD, require exit status STATUS; output in $T/out, $T/err
expect() {
    want=$1; shift
    "$@" >"$T/out" 2>"$T/err"
    got=$?
    if [ "$got" -ne "$want" ]; then
        fail "'$*' exited $got, expected $want"; sed 's/^/    /' "$T/err" | head -5
        return 1
    fi
    ok
}
contains() { # FILE TEXT
    if grep -qF -- "$2" "$1"; then ok; else fail "$1 lacks '$2'"; sed 's/^/    /' "$1" | head -5; fi
}
lacks() { # FILE TEXT
    if grep -qF -- "$2" "$1"; then fail "$1 has '$2'"; else ok; fi
}
empty() { if [ -s "$1" ]; then fail "$1 is not empty"; sed 's/^/    /' "$1" | head -5; else ok; fi; }

# sign_csv FILE: 400 samples of two classes separated by the sign of
# a + b - c (a header line, then label,a,b,c), the same every time.
sign_csv() {
    awk 'BEGIN { srand(7); print "label,a,b,c";
                 for (i = 0; i < 400; i++) { a = rand()*2-1; b = rand()*2-1; c = rand()*2-1;
                     printf "%d,%.4f,%.4f,%.4f\n", (a + b - c > 0), a, b, c } }' > "$1"
}
