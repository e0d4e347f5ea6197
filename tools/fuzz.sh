#!/usr/bin/env bash
# Runs every fuzz target (tests/fuzz) for a bounded time with libFuzzer, ASan and UBSan.
#   tools/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 60 s, all targets)
# Builds the `fuzz` preset (clang), writes seed corpora (small files in every format, plus the
# real files of $LLAMAPORT_SHARED/models, default ../shared, when present), then fuzzes each
# target with its corpus kept in build/fuzz/corpus/<target>. Prints executions, corpus size and
# crashes per target; exits non-zero if any target crashed, leaving the reproducer in
# build/fuzz/crashes/ (minimise it with -minimize_crash=1, then keep it under
# tests/fuzz/regressions/<target>/ so every build replays it).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi
seconds=${1:-60}
if ! [[ $seconds =~ ^[0-9]+$ ]]; then
    echo "fuzz.sh: SECONDS must be a whole number, got '$seconds' (see tools/fuzz.sh --help)" >&2
    exit 2
fi
shift || true
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }
targets=("$@")
all_targets=(llama2c gguf tokenizer encode cli json vocab pretokenize tokenizer_json safetensors)
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for target in "${targets[@]}"; do
    [[ " ${all_targets[*]} " == *" $target "* ]] ||
        { echo "fuzz.sh: unknown target '$target' (targets: ${all_targets[*]})" >&2; exit 2; }
done
shared=${LLAMAPORT_SHARED:-../shared}

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz
build=build/fuzz
rm -rf "$build/seeds"
models=()
[ -d "$shared/models" ] && models=("$shared/models")
"$build/tests/fuzz/fuzz-write-seeds" "$build/seeds" "${models[@]}"
if [ -f "$shared/models/tokenizer.bin" ]; then
    export LLAMAPORT_FUZZ_TOKENIZER="$shared/models/tokenizer.bin" LLAMAPORT_FUZZ_VOCAB=32000
fi
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

summary=()
failed=0
for target in "${targets[@]}"; do
    corpus="$build/corpus/$target"
    mkdir -p "$corpus" "$build/crashes"
    log="$build/fuzz-$target.log"
    echo "fuzzing $target for ${seconds}s..."
    status=0
    # -rss_limit_mb: the loaders refuse what the 64 MiB memory limit (fuzz_support.hpp) forbids,
    # so a run that grows past this is a bug, not a big input.
    "$build/tests/fuzz/fuzz-$target" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=1024 \
        -max_len=2000000 -print_final_stats=1 -artifact_prefix="$build/crashes/$target-" \
        "$corpus" "$build/seeds/$target" >"$log" 2>&1 || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    crashes=$(ls "$build/crashes" | grep -c "^$target-" || true)
    summary+=("$(printf '%-10s %10s executions  %6s corpus files  %s crashes' "$target" "${runs:-?}" \
        "$(ls "$corpus" | wc -l)" "$crashes")")
    if [ "$status" -ne 0 ]; then
        failed=1
        echo "fuzz-$target failed (exit $status); the end of $log:"
        tail -40 "$log"
    fi
done
printf '\n%s\n' "${summary[@]}"
exit $failed
