#!/bin/sh
# Runs the standard benchmark set and writes a report: random-weight models of the TinyStories
# shapes 15M, 42M and 110M, each as fp32, Q8_0 and AQLM 2x8 (random codes), with every kernel set
# this CPU runs, on 1 and 2 threads, tests pp 32 and tg 128. It takes about 10 minutes on a quiet
# 2-core AVX2 machine (an estimate from the rates in docs/benchmarks.md; more kernel sets or a
# busy machine take longer).
#   tools/bench.sh [-b BUILD_DIR] [-r REPS] [-o OUT] [-z TOKENIZER]
#     -b  build directory holding tools/llamaport-bench, -convert and -quantize (default
#         build/release)
#     -r  measured repetitions per test (default 3)
#     -o  where to write the report (default: a new file, docs/benchmarks-DATE-TIME.md; give
#         -o docs/benchmarks.md to replace the committed report)
#     -z  the 32000-token tokenizer.bin the AQLM files embed (default
#         $LLAMAPORT_SHARED/models/tokenizer.bin, ../shared beside the source tree; without
#         one the AQLM rows are left out)
# Each model runs in its own llamaport-bench process so its peak RSS is its own. The model files
# (0.1 to 0.45 GB each) go to a temporary directory that is removed afterwards.
# Exit status: 0 written, 1 a missing tool or failed run, 2 bad arguments.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

build=build/release
reps=3
out=docs/benchmarks-$(date -u +%Y%m%d-%H%M%S).md
tokenizer=${LLAMAPORT_SHARED:-$root/../shared}/models/tokenizer.bin
tokenizer_given=
usage_error() {
    echo "bench.sh: $1 (see tools/bench.sh --help)" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case $1 in
        -b | -r | -o | -z)
            [ $# -ge 2 ] && [ -n "$2" ] || usage_error "$1 needs a value"
            case $1 in
                -b) build=$2 ;;
                -r) reps=$2 ;;
                -o) out=$2 ;;
                -z) tokenizer=$2; tokenizer_given=1 ;;
            esac
            shift 2 ;;
        -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) usage_error "unknown argument '$1'" ;;
    esac
done
case $reps in '' | *[!0-9]* | 0) usage_error "-r: expected a whole number above 0, got '$reps'" ;; esac
if [ -n "$tokenizer_given" ] && [ ! -f "$tokenizer" ]; then
    echo "bench.sh: $tokenizer: no such file" >&2
    exit 1
fi
bench=$build/tools/llamaport-bench
convert=$build/tools/llamaport-convert
quantize=$build/tools/llamaport-quantize
for tool in "$bench" "$convert" "$quantize"; do
    if [ ! -x "$tool" ]; then
        echo "bench.sh: $tool not found; build first (cmake --preset release && cmake --build --preset release)" >&2
        exit 1
    fi
done
types="f32.bin q8_0.bin aqlm-2x8.gguf"
if [ ! -f "$tokenizer" ]; then
    echo "bench.sh: $tokenizer not found: no AQLM rows (give a tokenizer.bin with -z)" >&2
    types="f32.bin q8_0.bin"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/llamaport-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

flags="-k all -t 1,2 -p 32 -n 128 -r $reps --warmup 1 -o md"
commands=$tmp/commands
: >"$commands"
# Runs a command, noting it (with the temporary directory written as $TMP) for the report.
run() {
    echo "$*" | sed "s|$tmp|\$TMP|g" >>"$commands"
    "$@"
}

# Other work on the machine skews the figures: the report carries the load average around the run.
load() { cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || uptime | sed 's/.*load average[s]*: //'; }
load_before=$(load)
start=$(date +%s)
for shape in 15M 42M 110M; do
    run "$convert" --random "$shape" "$tmp/$shape-f32.bin"
    run "$convert" "$tmp/$shape-f32.bin" "$tmp/$shape-q8_0.bin" --to v2
    case $types in *aqlm*)
        run "$quantize" "$tmp/$shape-f32.bin" "$tmp/$shape-aqlm-2x8.gguf" --type aqlm-2x8 \
            --random-codes -z "$tokenizer" 2>"$tmp/quantize.log" ||
            { cat "$tmp/quantize.log" >&2; exit 1; } ;;
    esac
    for type in $types; do
        # shellcheck disable=SC2086  # $flags is a list of words
        run "$bench" -m "$tmp/$shape-$type" $flags >"$tmp/$shape-$type.md"
        rm "$tmp/$shape-$type"
    done
done
minutes=$(( ($(date +%s) - start + 59) / 60 ))
load_after=$(load)

cpu=$(sed -n 's/^\(model name\|cpu\|Hardware\|Model\)[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
[ -n "$cpu" ] || cpu=$(sysctl -n machdep.cpu.brand_string 2>/dev/null || uname -m)
cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")
commit=$(git rev-parse --short HEAD 2>/dev/null || echo "unknown")
[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] || commit="$commit (with uncommitted changes)"
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
compiler=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
[ -z "$compiler" ] || compiler=$("$compiler" --version 2>/dev/null | head -n 1 || echo "$compiler")

mkdir -p "$(dirname "$out")"
{
    echo "# Benchmarks"
    echo
    echo "Written by \`tools/bench.sh -r $reps\` in about $minutes min. Regenerate it the same way."
    echo
    echo "- CPU: $cpu ($cores logical CPUs, $(uname -sm))"
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- commit: $commit"
    echo "- build: $build (${build_type:-?}, ${compiler:-?})"
    echo "- load average (1, 5, 15 min) before the run: $load_before; after: $load_after"
    echo "- models: random weights in the TinyStories shapes (\`llamaport-convert --random\`; the"
    echo "  same work per token as the real models), fp32 (llama2.c v0), Q8_0 (llama2.c v2) and,"
    echo "  given a tokenizer, AQLM 2x8 with random codes (\`llamaport-quantize --random-codes\`)"
    echo
    first=$tmp/15M-f32.bin.md
    how=$(sed -n 's/^memory bandwidth: [^(]*//p' "$first")
    echo "Memory bandwidth as measured by each model's run $how; each row's ceiling uses its own"
    echo "run's figure for the row's thread count:"
    echo
    for shape in 15M 42M 110M; do
        for type in $types; do
            echo "- $shape ${type%.*}: $(sed -n 's/^memory bandwidth: \([^(]*\) (.*/\1/p' "$tmp/$shape-$type.md")"
        done
    done
    echo
    grep -m 2 '^|' "$first"
    for shape in 15M 42M 110M; do
        for type in $types; do
            grep '^| ' "$tmp/$shape-$type.md" | grep -v '^| model |'
        done
    done
    echo
    grep '^- ' "$first"
    echo
    echo "Commands (\$TMP is a temporary directory):"
    echo
    echo '```sh'
    cat "$commands"
    echo '```'
} >"$out.partial"
mv "$out.partial" "$out"
echo "bench.sh: wrote $out" >&2
