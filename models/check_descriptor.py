#!/usr/bin/env python3
"""Compare image descriptors (GAP embedding vs R-MAC) on edited copies, with onnxruntime.

Requirements (pip): onnxruntime numpy pillow. Runs in about a minute for 100 photos.

Usage:
    python3 models/check_descriptor.py FOLDER [--model PATH] [--limit N] [--threads T]

For every image under FOLDER (any depth; e.g. shared/data/imagenet-100) it makes edited
copies in memory, then describes originals and copies with the model's `features` output
(input side read from the model, preprocessing as models/check_export.py):

  GAP    mean of `features` over space (= the `embedding` output), L2-normalised
  R-MAC  models/rmac.py on `features`

and prints, per edit and over all edits:
  top-1  how often the copy's nearest original (cosine, among all originals) is its own
  mean / p5  mean and 5th percentile of cosine(copy, its original)
  >p99  share of copies whose cosine to the original exceeds the 99th percentile of
        unrelated pairs
and the 95th / 99th percentile of cosine over unrelated pairs (all pairs of distinct
originals).

Edits (PIL): rot90 = transpose ROTATE_90 (counter-clockwise); mirror = left-right flip;
crop70 = centre 70% of width and height; rot10 = rotate 10 degrees counter-clockwise,
BILINEAR, same canvas, black corners; jpeg30 = re-encode JPEG quality 30; colour =
R x1.12, G x1.00, B x0.85, then x1.08 brightness, clipped (warm white-balance shift);
third = resize to 1/3 of width and height (LANCZOS).
"""
import io
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_export import EXTS, model_size, preprocess_image, session  # noqa: E402
from rmac import gap, rmac  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def _jpeg(im, q):
    buf = io.BytesIO()
    im.save(buf, 'JPEG', quality=q)
    buf.seek(0)
    return Image.open(buf).convert('RGB')


def _crop(im, frac):
    w, h = im.size
    cw, ch = round(w * frac), round(h * frac)
    l, t = (w - cw) // 2, (h - ch) // 2
    return im.crop((l, t, l + cw, t + ch))


def _colour(im):
    a = np.asarray(im, np.float32) * np.array([1.12, 1.0, 0.85], np.float32) * 1.08
    return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8))


EDITS = [
    ('rot90', lambda im: im.transpose(Image.Transpose.ROTATE_90)),
    ('mirror', lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
    ('crop70', lambda im: _crop(im, 0.7)),
    ('rot10', lambda im: im.rotate(10, resample=Image.BILINEAR, expand=False)),
    ('jpeg30', lambda im: _jpeg(im, 30)),
    ('colour', _colour),
    ('third', lambda im: im.resize((max(1, im.width // 3), max(1, im.height // 3)), Image.LANCZOS)),
]
DESCRIPTORS = [('GAP', gap), ('R-MAC', rmac)]


def opt(name, default):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


def main():
    args, skip = [], False
    for a in sys.argv[1:]:
        if skip:
            skip = False
        elif a.startswith('--'):
            skip = True
        else:
            args.append(a)
    if not args:
        sys.exit(__doc__)
    model = opt('--model', os.path.join(HERE, 'efficientnet_lite0.onnx'))
    limit = int(opt('--limit', 0))
    threads = int(opt('--threads', 1))
    sess = session(model)
    if threads != 1:
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        sess = ort.InferenceSession(model, so, providers=['CPUExecutionProvider'])
    size = model_size(sess)
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(args[0]) for f in fs if f.lower().endswith(EXTS))
    if limit:
        files = files[:limit]
    n = len(files)
    # desc[name]: [n, 1 + ne, C]; index 0 = original
    desc = {name: [] for name, _ in DESCRIPTORS}
    for path in files:
        with Image.open(path) as im:
            im = im.convert('RGB')
            x = np.stack([preprocess_image(im, size)] + [preprocess_image(fn(im), size) for _, fn in EDITS])
        feats = sess.run(['features'], {'input': x})[0]
        for name, fn in DESCRIPTORS:
            desc[name].append(np.stack([fn(f) for f in feats]))
    print('%d images, model %s, input %dx%d, features %s' % (n, os.path.basename(model), size, size,
                                                              feats.shape[1:]))
    iu = np.triu_indices(n, 1)
    rows = {}
    for name, _ in DESCRIPTORS:
        d = np.stack(desc[name])                      # [n, 1+ne, C]
        orig = d[:, 0]                                # [n, C]
        unrel = (orig @ orig.T)[iu]
        p95, p99 = np.percentile(unrel, [95, 99])
        per = {}
        for k, (edit, _) in enumerate(EDITS):
            sims = d[:, 1 + k] @ orig.T               # [n copies, n originals]
            own = sims[np.arange(n), np.arange(n)]
            hit = sims.argmax(axis=1) == np.arange(n)
            per[edit] = (hit, own)
        hit_all = np.concatenate([h for h, _ in per.values()])
        own_all = np.concatenate([o for _, o in per.values()])
        per['all'] = (hit_all, own_all)
        rows[name] = (per, p95, p99)
    head = '%-8s' % 'edit' + ''.join('| %-5s top-1  mean    p5   >p99 ' % name for name, _ in DESCRIPTORS)
    print(head)
    print('-' * len(head))
    for edit in [e for e, _ in EDITS] + ['all']:
        line = '%-8s' % edit
        for name, _ in DESCRIPTORS:
            per, p95, p99 = rows[name]
            hit, own = per[edit]
            line += '|  %5.1f%%  %.3f  %.3f %5.1f%% ' % (100 * hit.mean(), own.mean(), np.percentile(own, 5),
                                                       100 * (own > p99).mean())
        print(line)
    for name, _ in DESCRIPTORS:
        _, p95, p99 = rows[name]
        print('%-6s unrelated pairs (%d): p95 %.3f  p99 %.3f' % (name, len(iu[0]), p95, p99))


if __name__ == '__main__':
    main()
