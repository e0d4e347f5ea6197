#!/bin/sh
# Guest instructions per generated token of the PowerPC G4 build under qemu-ppc -cpu 7447, for
# the scalar and AltiVec kernels: the only trustworthy speed signal for the emulated G4 (wall time
# under emulation means nothing). Counts two runs of llamaport-bench that differ only in the
# number of generated tokens, so loading and setup cancel out.
#   tools/ppc-insncount.sh MODEL [PPC_BUILD_DIR] [TOKENS]
# PPC_BUILD_DIR defaults to build/powerpc-g4 (cmake --workflow --preset powerpc-g4); the plugin
# source is $LLAMAPORT_SHARED/tools/qemu-insncount.c (default ../shared).
set -eu
model=${1:?usage: tools/ppc-insncount.sh MODEL [PPC_BUILD_DIR] [TOKENS]}
build=${2:-build/powerpc-g4}
tokens=${3:-8}
shared=${LLAMAPORT_SHARED:-$(cd "$(dirname "$0")/.." && pwd)/../shared}
bench="$build/tools/llamaport-bench"
[ -x "$bench" ] || { echo "ppc-insncount.sh: $bench not found: build the powerpc-g4 preset first" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -shared -fPIC -O2 -o "$work/libinsncount.so" "$shared/tools/qemu-insncount.c"

count() {  # kernel, generated tokens -> guest instructions of the whole run
    qemu-ppc -cpu 7447 -L /usr/powerpc-linux-gnu -plugin "$work/libinsncount.so" \
        "$bench" -m "$model" -k "$1" -t 1 -p 0 -n "$2" -r 1 --warmup 0 --bw-mib 0 -o csv \
        2>&1 >/dev/null | sed -n 's/^guest_insns //p'
}

weight_bytes=$(qemu-ppc -cpu 7447 -L /usr/powerpc-linux-gnu \
    "$bench" -m "$model" -k scalar -t 1 -p 0 -n 1 -r 1 --warmup 0 --bw-mib 0 -o json 2>/dev/null |
    sed -n 's/.*"weight_bytes": *\([0-9]*\).*/\1/p' | head -n 1)

echo "model: $model (weights streamed per token: ${weight_bytes:-?} bytes)"
echo "| kernel | guest instructions per token | per weight byte | scalar / this |"
echo "|---|---|---|---|"
scalar=""
for kernel in scalar altivec; do
    short=$(count "$kernel" 1)
    long=$(count "$kernel" $((tokens + 1)))
    per_token=$(( (long - short) / tokens ))
    [ -z "$scalar" ] && scalar=$per_token
    awk -v k="$kernel" -v p="$per_token" -v b="${weight_bytes:-0}" -v s="$scalar" \
        'BEGIN { printf "| %s | %d | %s | %.2f |\n", k, p, (b > 0 ? sprintf("%.2f", p / b) : "?"), s / p }'
done
