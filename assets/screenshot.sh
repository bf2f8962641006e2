#!/bin/sh
# Screenshot of the real app on a virtual display (no GPU needed: Mesa's software GL).
#
#   assets/screenshot.sh <folder> <query-image> <out.png>
#
# Starts Xvfb, runs the release build on <folder> with <query-image> as the query (indexing
# the folder in a throw-away data directory), waits until indexing is done and every
# thumbnail is on screen, and saves the window to <out.png>.
# Needs: xvfb, xdotool, imagemagick, libgl1-mesa-dri; `cargo build --release` first.
# Environment: PHOTO_SIM_BIN (default target/release/photo-sim), SCREENSHOT_DISPLAY (:77),
# SCREENSHOT_TIMEOUT (seconds, default 300), SCREENSHOT_DATA (data dir to reuse).
set -eu

if [ $# -ne 3 ]; then
    echo "usage: $0 <folder> <query-image> <out.png>" >&2
    exit 2
fi
folder=$1
query=$2
out=$3
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${PHOTO_SIM_BIN:-$here/target/release/photo-sim}
display=${SCREENSHOT_DISPLAY:-:77}
timeout=${SCREENSHOT_TIMEOUT:-300}
data=${SCREENSHOT_DATA:-$(mktemp -d)}
log=$(mktemp)

Xvfb "$display" -screen 0 1280x900x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
app=
cleanup() {
    [ -n "$app" ] && kill "$app" 2>/dev/null || true
    kill "$xvfb" 2>/dev/null || true
    rm -f "$log"
    [ -z "${SCREENSHOT_DATA:-}" ] && rm -rf "$data"
    true
}
trap cleanup EXIT INT TERM
export DISPLAY="$display"
i=0
until xdotool getmouselocation >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -gt 50 ] && { echo "Xvfb did not start" >&2; exit 1; }
    sleep 0.1
done

PHOTO_SIM_TIMING=1 LIBGL_ALWAYS_SOFTWARE=1 WINIT_UNIX_BACKEND=x11 \
    "$bin" --data-dir "$data" open "$folder" --query "$query" >"$log" 2>&1 &
app=$!

# Ready when, after indexing finished, a query's thumbnails were all on screen.
start=$(date +%s)
while :; do
    if awk '/indexing finished|Up to date/ {done=1} done && /all thumbnails ready/ {ok=1} END {exit !ok}' "$log"; then
        break
    fi
    if ! kill -0 "$app" 2>/dev/null; then
        echo "photo-sim exited:" >&2
        cat "$log" >&2
        exit 1
    fi
    if [ $(($(date +%s) - start)) -gt "$timeout" ]; then
        echo "timed out; log:" >&2
        cat "$log" >&2
        break
    fi
    sleep 0.5
done
# No hover effects or tooltips in the picture.
xdotool mousemove 1279 899
sleep 1
wid=$(xdotool search --name '^photo-sim$' | head -n 1)
import -window "$wid" "$out"
cat "$log" >&2
echo "saved $out" >&2
