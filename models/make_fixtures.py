#!/usr/bin/env python3
"""Regenerate tests/fixtures/ from scikit-image's bundled CC0 sample photos.

Requirements (pip): onnxruntime numpy pillow, plus the two PNGs from the
scikit-image wheel (skimage/data/chelsea.png, skimage/data/coffee.png), e.g.
    pip install --no-deps scikit-image==0.26.0        # or: pip download + unzip
Usage:
    python3 models/make_fixtures.py [SKIMAGE_DATA_DIR]

Writes:
    tests/fixtures/cat.jpg, coffee.jpg         JPEG quality 90 of chelsea.png / coffee.png
    tests/fixtures/cat.input.f32               preprocessed input, 3*224*224 raw LE f32, NCHW (no batch dim)
    tests/fixtures/cat.embedding.f32           onnxruntime `embedding` for it, 1280 raw LE f32 (not normalised)
    tests/fixtures/cat.logits_top5.txt         top-5 class indices, best first
    tests/fixtures/cat.rmac.f32                R-MAC descriptor (models/rmac.py) of the `features`
                                               output [1280,7,7] for cat.input.f32, 1280 raw LE f32,
                                               unit L2 norm
The JPEGs depend on the Pillow/libjpeg version, so the committed files are the reference;
the .f32 files are computed from the committed cat.jpg.
"""
import importlib.util
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_export import class_names, preprocess, session  # noqa: E402
from rmac import rmac  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, '..', 'tests', 'fixtures')
MODEL = os.path.join(HERE, 'efficientnet_lite0.onnx')


def main():
    if len(sys.argv) > 1:
        src = sys.argv[1]
    else:
        spec = importlib.util.find_spec('skimage')
        if spec is None:
            sys.exit('pass the skimage/data folder, or pip install --no-deps scikit-image')
        src = os.path.join(spec.submodule_search_locations[0], 'data')
    os.makedirs(FIX, exist_ok=True)
    for png, jpg in (('chelsea.png', 'cat.jpg'), ('coffee.png', 'coffee.jpg')):
        Image.open(os.path.join(src, png)).convert('RGB').save(os.path.join(FIX, jpg), quality=90)
    sess = session(MODEL)
    names = class_names()
    for jpg in ('cat.jpg', 'coffee.jpg'):
        x = preprocess(os.path.join(FIX, jpg))
        emb, logits, feats = sess.run(['embedding', 'logits', 'features'], {'input': x[None]})
        top5 = [int(i) for i in np.argsort(-logits[0])[:5]]
        print('%s (%d bytes): top-5 %s' % (jpg, os.path.getsize(os.path.join(FIX, jpg)),
                                           ', '.join('%d %s' % (i, names[i]) for i in top5)))
        if jpg == 'cat.jpg':
            x.astype('<f4').tofile(os.path.join(FIX, 'cat.input.f32'))
            emb[0].astype('<f4').tofile(os.path.join(FIX, 'cat.embedding.f32'))
            with open(os.path.join(FIX, 'cat.logits_top5.txt'), 'w') as f:
                f.write(''.join('%d\n' % i for i in top5))
            print('  embedding L2 norm %.4f, first values %s' % (np.linalg.norm(emb[0]), emb[0][:4]))
            r = rmac(feats[0])
            r.astype('<f4').tofile(os.path.join(FIX, 'cat.rmac.f32'))
            g = emb[0] / np.linalg.norm(emb[0])
            print('  features %s; rmac first values %s, cosine(rmac, normalised embedding) %.4f'
                  % (feats[0].shape, r[:4], float(np.dot(r, g))))


if __name__ == '__main__':
    main()
