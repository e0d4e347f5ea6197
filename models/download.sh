#!/bin/sh
# Puts stories260K.bin and tok512.bin in this directory, checksum-verified: linked from
# $LLAMAPORT_MODELS when that is set, downloaded otherwise (curl, from Hugging Face).
#   models/download.sh
#   LLAMAPORT_MODELS=/dir/holding/both models/download.sh     (without internet)
# Exit status: 0 ready, 1 a file missing, failed to download or with the wrong checksum, 2 bad
# arguments.
set -eu
case ${1:-} in
    "") ;;
    -h | --help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "download.sh: takes no arguments, got '$1' (see models/download.sh --help)" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
base=https://huggingface.co/karpathy/tinyllamas/resolve/main/stories260K

expected_sum() {
    case "$1" in
        stories260K.bin) echo b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696 ;;
        tok512.bin) echo 037cb335abb25d1fa9e8ecae30ed2a3a8ace9302862ebcdc05d51a6bbb10c312 ;;
    esac
}

sha256() {
    if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
    else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

for name in stories260K.bin tok512.bin; do
    target="$here/$name"
    if [ ! -f "$target" ]; then
        if [ -n "${LLAMAPORT_MODELS:-}" ]; then
            if [ ! -f "$LLAMAPORT_MODELS/$name" ]; then
                echo "download.sh: $LLAMAPORT_MODELS/$name not found (LLAMAPORT_MODELS must hold $name)" >&2
                exit 1
            fi
            ln -s "$(cd "$LLAMAPORT_MODELS" && pwd)/$name" "$target"
        elif command -v curl >/dev/null 2>&1; then
            echo "download.sh: fetching $name" >&2
            curl -fL --retry 2 --connect-timeout 10 -o "$target.part" "$base/$name" && mv "$target.part" "$target" || {
                rm -f "$target.part"
                echo "download.sh: could not download $base/$name." >&2
                echo "  Without internet, copy stories260K.bin and tok512.bin into a directory and run" >&2
                echo "  LLAMAPORT_MODELS=/that/directory $0" >&2
                exit 1
            }
        else
            echo "download.sh: $name is missing and curl is not installed." >&2
            echo "  Install curl, or set LLAMAPORT_MODELS to a directory holding $name." >&2
            exit 1
        fi
    fi
    sum=$(sha256 "$target")
    if [ "$sum" != "$(expected_sum "$name")" ]; then
        echo "download.sh: $target has sha256 $sum, expected $(expected_sum "$name"); delete it and retry" >&2
        exit 1
    fi
done
echo "$here/stories260K.bin and $here/tok512.bin are ready" >&2
