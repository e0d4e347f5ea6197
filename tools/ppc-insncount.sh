#!/bin/sh
# Guest instructions per generated token of the PowerPC G4 build under qemu-ppc -cpu 7447, for
# the scalar and AltiVec kernels: the only trustworthy speed signal for the emulated G4 (wall time
# under emulation means nothing). Counts two runs of llamaport-bench that differ only in the
# number of generated tokens, so loading and setup cancel out.
#   tools/ppc-insncount.sh MODEL [PPC_BUILD_DIR] [TOKENS]
# PPC_BUILD_DIR defaults to build/powerpc-g4 (cmake --workflow --preset powerpc-g4); the plugin
# source is $LLAMAPORT_SHARED/tools/qemu-insncount.c (default ../shared).
# Exit status: 0 done, 1 a missing file or a failed count, 2 bad arguments.
set -eu
usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }
fail() { echo "ppc-insncount.sh: $1" >&2; exit "$2"; }
case ${1:-} in
    -h | --help) usage; exit 0 ;;
    "") fail "no MODEL given (see tools/ppc-insncount.sh --help)" 2 ;;
    -*) fail "unknown flag '$1' (see tools/ppc-insncount.sh --help)" 2 ;;
esac
[ $# -le 3 ] || fail "expected MODEL [PPC_BUILD_DIR] [TOKENS], got $# arguments (see tools/ppc-insncount.sh --help)" 2
model=$1
build=${2:-build/powerpc-g4}
tokens=${3:-8}
case $tokens in
    '' | *[!0-9]* | 0) fail "TOKENS must be a whole number above 0, got '$tokens'" 2 ;;
esac
shared=${LLAMAPORT_SHARED:-$(cd "$(dirname "$0")/.." && pwd)/../shared}
bench="$build/tools/llamaport-bench"
[ -f "$model" ] || fail "$model: no such file" 1
[ -x "$bench" ] || fail "$bench not found: build the powerpc-g4 preset first" 1
[ -f "$shared/tools/qemu-insncount.c" ] || fail "$shared/tools/qemu-insncount.c not found (set LLAMAPORT_SHARED)" 1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -shared -fPIC -O2 -o "$work/libinsncount.so" "$shared/tools/qemu-insncount.c"

count() {  # kernel, generated tokens -> guest instructions of the whole run
    n=$(qemu-ppc -cpu 7447 -L /usr/powerpc-linux-gnu -plugin "$work/libinsncount.so" \
        "$bench" -m "$model" -k "$1" -t 1 -p 0 -n "$2" -r 1 --warmup 0 --bw-mib 0 -o csv \
        2>"$work/stderr" >/dev/null; sed -n 's/^guest_insns //p' "$work/stderr")
    [ -n "$n" ] && [ "$n" -gt 0 ] ||
        fail "no instruction count from llamaport-bench -m $model -k $1: $(grep -v '^guest_insns' "$work/stderr" | tail -1)" 1
    echo "$n"
}

token_bytes=$(qemu-ppc -cpu 7447 -L /usr/powerpc-linux-gnu \
    "$bench" -m "$model" -k scalar -t 1 -p 0 -n 1 -r 1 --warmup 0 --bw-mib 0 -o json 2>/dev/null |
    sed -n 's/.*"token_bytes": *\([0-9]*\).*/\1/p' | head -n 1)

if [ -n "$token_bytes" ]; then
    weight_size=$(awk -v b="$token_bytes" 'BEGIN { printf "%.1f MiB", b / 1048576 }')
else
    weight_size="?"
fi
echo "model: $model (weights streamed per token: $weight_size)"
echo "| kernel | guest instructions per token | per weight byte | scalar / this |"
echo "|---|---|---|---|"
scalar=""
for kernel in scalar altivec; do
    short=$(count "$kernel" 1)
    long=$(count "$kernel" $((tokens + 1)))
    per_token=$(( (long - short) / tokens ))
    [ -z "$scalar" ] && scalar=$per_token
    awk -v k="$kernel" -v p="$per_token" -v b="${token_bytes:-0}" -v s="$scalar" \
        'BEGIN { printf "| %s | %.0f | %s | %.2f |\n", k, p, (b > 0 ? sprintf("%.2f", p / b) : "?"), s / p }'
done
