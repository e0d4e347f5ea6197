#!/bin/sh
# Tells a story: makes sure stories260K is in models/ (see models/README.md), builds the
# llamaport command alone, and runs it. Build output goes to standard error, so
#   tools/story.sh > story.txt
# holds only the story.
#   tools/story.sh ["prompt"] [more llamaport flags...]    (default prompt: "Once upon a time")
# Without internet: LLAMAPORT_MODELS=/dir/with/stories260K.bin/and/tok512.bin tools/story.sh
# Exit status: llamaport's (0 done, 1 failed run, 2 bad flags); 1 when the model or the build fails.
set -eu
case ${1:-} in
    -h | --help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
models/download.sh || exit 1  # first: a missing model is news worth having before a build
{
    cmake --preset release >/dev/null
    cmake --build --preset release --target llamaport
} >&2 || { echo "story.sh: the build failed (output above)" >&2; exit 1; }
prompt=${1:-Once upon a time}
[ $# -gt 0 ] && shift
exec build/release/llamaport models/stories260K.bin -z models/tok512.bin -i "$prompt" "$@"
