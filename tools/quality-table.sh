#!/bin/sh
# Re-measures the README's AQLM quality table on stories260K: quantizes it to each format, scores
# each file against the fp32 model with llamaport-eval (KL, top-1 agreement, perplexity over
# 4096 positions sampled from the fp32 model) and prints the Markdown table. About a minute on
# 2 cores.
#   tools/quality-table.sh [-b BUILD_DIR] [-m MODEL_DIR]
#     -b  build directory holding tools/llamaport-quantize and -eval (default build/release)
#     -m  directory holding stories260K.bin and tok512.bin (default: models/, or
#         $LLAMAPORT_SHARED/models, ../shared/models beside the source tree)
# Exit status: 0 printed, 1 a missing file or failed run, 2 bad arguments.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }
build=$root/build/release
models=
while [ $# -gt 0 ]; do
    case $1 in
        -b) build=${2:?-b needs a directory}; shift 2 ;;
        -m) models=${2:?-m needs a directory}; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "quality-table.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
if [ -z "$models" ]; then
    models=$root/models
    [ -f "$models/stories260K.bin" ] || models=${LLAMAPORT_SHARED:-$root/../shared}/models
fi
for f in "$models/stories260K.bin" "$models/tok512.bin" "$build/tools/llamaport-quantize" \
         "$build/tools/llamaport-eval"; do
    [ -e "$f" ] || { echo "quality-table.sh: $f: no such file" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fp32=$models/stories260K.bin

# One row: label, then llamaport-quantize's flags.
row() {
    label=$1
    shift
    start=$(date +%s.%N)
    "$build/tools/llamaport-quantize" "$fp32" "$work/q.gguf" -z "$models/tok512.bin" "$@" \
        2>"$work/quantize.log" || { cat "$work/quantize.log" >&2; exit 1; }
    seconds=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
    # The layer matrices' bits as quantize reports them for AQLM; else the whole file's (Q8_0),
    # or rtn's nominal 2 bits plus an fp32 min and max per group.
    bits=$(sed -n 's/.*layer matrices \([0-9.]*\) bits per weight.*/\1/p' "$work/quantize.log")
    case $label in
        round*) bits="$(awk -v g="$rtn_group" 'BEGIN { print 2 + 64 / g }') (nominal)" ;;
        *) [ -n "$bits" ] || bits="$(sed -n 's/.*, \([0-9.]*\) bits per parameter for the whole file.*/\1/p' \
                "$work/quantize.log") (whole file)" ;;
    esac
    "$build/tools/llamaport-eval" "$work/q.gguf" --reference "$fp32" --tokens 4096 \
        >"$work/eval.txt" || exit 1
    value() { sed -n "s/^$1: //p" "$work/eval.txt"; }
    case $label in round*) size="(F32)" ;; *) size=$(wc -c <"$work/q.gguf") ;; esac
    awk -v l="$label" -v size="$size" -v bits="$bits" -v kl="$(value kl_divergence)" \
        -v top="$(value top1_agreement)" -v ppl="$(value perplexity_model)" -v t="$seconds" '
        function sig(x) { return x >= 100 ? sprintf("%.0f", x) : x >= 10 ? sprintf("%.1f", x) : sprintf("%.3g", x) }
        function bitsig(b) { return b ~ /^[0-9.]+$/ ? sig(b) : b }
        BEGIN {
            file = size ~ /^[0-9]+$/ ? sprintf("%.1f MiB", size / 1048576) : size
            printf "| %s | %s | %s | %s | %.3f | %s | %s s |\n", l, file, bitsig(bits), sig(kl), top, sig(ppl), t
        }'
}

reference_ppl=$("$build/tools/llamaport-eval" "$fp32" --reference "$fp32" --tokens 4096 |
    sed -n 's/^perplexity_reference: //p' | xargs printf '%.3f')
echo "| format | file | bits/weight | KL (nats/token) | top-1 agreement | perplexity (fp32: $reference_ppl) | quantize |"
echo "|---|--:|--:|--:|--:|--:|--:|"
row "Q8_0 (\`ffn_down\` stays F32: 172 columns)" --type q8_0
row "AQLM 2x8" --type aqlm-2x8
row "AQLM 1x16" --type aqlm-1x16
row "AQLM 1x8" --type aqlm-1x8
rtn_group=8  # read by row()
row "round-to-nearest 2-bit, groups of 8" --type rtn-2bit --group-size 8
rtn_group=32
row "round-to-nearest 2-bit, groups of 32 (default)" --type rtn-2bit
