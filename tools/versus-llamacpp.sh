#!/bin/sh
# Measures llamaport and llama.cpp side by side on the same GGUF files: pp and tg at the thread
# counts given, the two programs interleaved round by round (so that a change in the machine's
# load hits both), the median of the rounds. Prints a Markdown table to standard output.
#   tools/versus-llamacpp.sh [-b BUILD_DIR] [-l LLAMA_BENCH] [-t THREADS] [-p N] [-n N]
#                            [-r ROUNDS] [-k KERNEL] FILE.gguf...
#     -b  build directory holding tools/llamaport-bench (default build/release)
#     -l  llama.cpp's llama-bench, built from its source (default: llama-bench on PATH)
#     -t  thread counts, comma separated (default 1,2)
#     -p  prompt tokens of the pp test, 0 skips it (default 128)
#     -n  generated tokens of the tg test, 0 skips it (default 64)
#     -r  rounds; each runs both programs once per test (default 3)
#     -k  llamaport's kernel set (default auto)
# llamaport reads the prompt in batches of 64 (llamaport-bench -b 64); llama.cpp in one batch of
# up to 2048 (its default). Both use an fp16 KV cache (llamaport-bench's default is fp32: this
# script asks for f16). Expect about (pp + tg time) x files x threads x rounds x 2.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }
build=$root/build/release
llama=llama-bench
threads=1,2
pp=128
tg=64
rounds=3
kernel=auto
while [ $# -gt 0 ]; do
    case $1 in
        -b) build=${2:?-b needs a directory}; shift 2 ;;
        -l) llama=${2:?-l needs a program}; shift 2 ;;
        -t) threads=${2:?-t needs a list}; shift 2 ;;
        -p) pp=${2:?-p needs a number}; shift 2 ;;
        -n) tg=${2:?-n needs a number}; shift 2 ;;
        -r) rounds=${2:?-r needs a number}; shift 2 ;;
        -k) kernel=${2:?-k needs a kernel set}; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "versus-llamacpp.sh: unknown flag '$1' (see --help)" >&2; exit 2 ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || { echo "versus-llamacpp.sh: no GGUF file given (see --help)" >&2; exit 2; }
ours=$build/tools/llamaport-bench
[ -x "$ours" ] || { echo "versus-llamacpp.sh: $ours not found: build the release preset first" >&2; exit 1; }
command -v "$llama" >/dev/null 2>&1 || { echo "versus-llamacpp.sh: $llama not found: give llama.cpp's llama-bench with -l" >&2; exit 1; }
for f in "$@"; do [ -f "$f" ] || { echo "versus-llamacpp.sh: $f: no such file" >&2; exit 1; }; done

# One run of each program: tokens per second, or "-" when the program failed.
run_ours() {  # file threads test(pp|tg)
    if [ "$3" = pp ]; then set -- "$1" "$2" -p "$pp" -b 64 -n 0; else set -- "$1" "$2" -p 0 -n "$tg"; fi
    f=$1 t=$2; shift 2
    "$ours" -m "$f" -k "$kernel" -t "$t" "$@" -r 1 --warmup 1 --bw-mib 0 --kv-type f16 -o csv 2>/dev/null |
        awk -F, 'NR == 2 { print $9 }' | grep . || echo -
}
run_llama() {
    if [ "$3" = pp ]; then set -- "$1" "$2" -p "$pp" -n 0; else set -- "$1" "$2" -p 0 -n "$tg"; fi
    f=$1 t=$2; shift 2
    "$llama" -m "$f" -t "$t" "$@" -r 1 -o csv 2>/dev/null |
        awk -F, 'NR == 2 { gsub(/"/, "", $31); print $31 }' | grep . || echo -
}
median() { tr ' ' '\n' | grep -v '^-$' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) printf "%.1f\n", v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "| file | threads | test | llama.cpp t/s | llamaport t/s | llamaport / llama.cpp |"
echo "|---|--:|---|--:|--:|--:|"
for f in "$@"; do
    for t in $(echo "$threads" | tr , ' '); do
        for test in pp tg; do
            if [ "$test" = pp ] && [ "$pp" -eq 0 ]; then continue; fi
            if [ "$test" = tg ] && [ "$tg" -eq 0 ]; then continue; fi
            a="" b=""
            i=0
            while [ $i -lt "$rounds" ]; do
                echo "versus-llamacpp.sh: $(basename "$f") t$t $test round $((i + 1))/$rounds" >&2
                a="$a $(run_llama "$f" "$t" "$test")"
                b="$b $(run_ours "$f" "$t" "$test")"
                i=$((i + 1))
            done
            ma=$(echo $a | median) mb=$(echo $b | median)
            n=$([ "$test" = pp ] && echo "$pp" || echo "$tg")
            awk -v f="$(basename "$f")" -v t="$t" -v test="$test$n" -v a="$ma" -v b="$mb" 'BEGIN {
                r = (a != "-" && b != "-" && a > 0) ? sprintf("%.2f", b / a) : "-"
                printf "| %s | %s | %s | %s | %s | %s |\n", f, t, test, a, b, r }'
        done
    done
done
