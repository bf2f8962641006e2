#!/bin/sh
# The folder behind the duplicates screenshots (duplicates-*.{png,jpg}, compare.jpg):
#
#   assets/duplicates-library.sh <folder> [skimage-data-dir]
#
# The test fixtures' cat with 20 copies at 50-88 % of its size and JPEG quality 60-79 (a
# 21-photo group), and the coffee cup with a crop, a brighter and a smaller version. With
# scikit-image's data folder (from the PyPI wheel: `pip download --no-deps scikit-image`, then
# unzip skimage/data) it adds the public-domain rocket and astronaut, which group with nothing.
# Then: photo-sim open <folder>, Duplicates, and `import -window` under Xvfb (see screenshot.sh).
# Needs imagemagick.
set -eu
if [ $# -lt 1 ]; then
    echo "usage: $0 <folder> [skimage-data-dir]" >&2
    exit 2
fi
out=$1
fixtures=$(cd "$(dirname "$0")/../tests/fixtures" && pwd)
mkdir -p "$out/copies" "$out/cafe"
cp "$fixtures/cat.jpg" "$out/cat.jpg"
i=0
while [ $i -lt 20 ]; do
    convert "$fixtures/cat.jpg" -resize $((50 + 2 * i))% -quality $((60 + i)) \
        "$out/copies/cat_$(printf %02d $i).jpg"
    i=$((i + 1))
done
cp "$fixtures/coffee.jpg" "$out/cafe/coffee.jpg"
convert "$fixtures/coffee.jpg" -gravity center -crop 85%x85%+0+0 +repage -quality 88 "$out/cafe/coffee_crop.jpg"
convert "$fixtures/coffee.jpg" -modulate 112,100,100 -quality 85 "$out/cafe/coffee_bright.jpg"
convert "$fixtures/coffee.jpg" -resize 60% -quality 70 "$out/cafe/coffee_small.jpg"
if [ $# -ge 2 ]; then
    cp "$2/rocket.jpg" "$out/rocket.jpg"
    convert "$2/astronaut.png" -quality 90 "$out/astronaut.jpg"
fi
echo "made $out" >&2
