# Sourced by the shell tests (tests/embed.sh, tests/mcu.sh, tests/mpi.sh): the netc to
# test as an absolute path (they change directory), a scratch directory $T
# removed on exit, and the pass/fail counters that their closing line,
# "NAME: N passed, N failed", reports.
NETC=$(cd "$(dirname "${1:-./netc}")" && pwd)/$(basename "${1:-./netc}")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
failed=0
ok() { pass=$((pass + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
