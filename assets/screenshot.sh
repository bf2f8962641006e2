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
# SCREENSHOT_TIMEOUT (seconds, default 300), SCREENSHOT_DATA (data dir to reuse),
# SCREENSHOT_SIZE (window size, e.g. 640x480; default the app's own), SCREENSHOT_WHILE_INDEXING=1
# (take it SCREENSHOT_AFTER seconds, default 2, after the first matches are on screen, while
# indexing goes on).
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

Xvfb "$display" -screen 0 1920x1080x24 -nolisten tcp >/dev/null 2>&1 &
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

if [ -n "${SCREENSHOT_SIZE:-}" ]; then
    i=0
    until wid=$(xdotool search --name '^photo-sim$' 2>/dev/null | head -n 1) && [ -n "$wid" ]; do
        i=$((i + 1))
        [ $i -gt 300 ] && { echo "no window" >&2; exit 1; }
        sleep 0.1
    done
    xdotool windowsize "$wid" "${SCREENSHOT_SIZE%x*}" "${SCREENSHOT_SIZE#*x}"
fi

# Ready when, after indexing finished, a query's thumbnails were all on screen (or, while
# indexing, when the first matches are).
start=$(date +%s)
while :; do
    if [ -n "${SCREENSHOT_WHILE_INDEXING:-}" ]; then
        if grep -q "first matches on screen" "$log"; then
            sleep "${SCREENSHOT_AFTER:-2}"
            break
        fi
    elif awk '/indexing finished|Up to date/ {done=1} done && /all thumbnails ready/ {ok=1} END {exit !ok}' "$log"; then
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
xdotool mousemove 1919 1079
sleep 1
wid=$(xdotool search --name '^photo-sim$' | head -n 1)
import -window "$wid" "$out"
cat "$log" >&2
echo "saved $out" >&2
