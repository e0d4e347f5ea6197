#!/bin/sh
# Builds llamaport, makes sure stories260K is in models/ (see models/README.md), and tells a story.
#   tools/story.sh ["prompt"] [more llamaport flags...]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cmake --preset release >/dev/null
cmake --build --preset release
models/download.sh
prompt=${1:-Once upon a time}
[ $# -gt 0 ] && shift
exec build/release/llamaport models/stories260K.bin -z models/tok512.bin -i "$prompt" "$@"
