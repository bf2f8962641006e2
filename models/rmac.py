#!/usr/bin/env python3
"""R-MAC (regional maximum activations of convolutions) reference, numpy only.

Tolias, Sicre & Jegou, "Particular object retrieval with integral max-pooling of CNN
activations" (ICLR 2016), without PCA-whitening. This is the reference that the Rust
side's fixture tests/fixtures/cat.rmac.f32 is computed with (see make_fixtures.py).

Given a feature map F [C, h, w] (the model's `features` output for one image):

  regions  the whole map, plus for L = 2 and L = 3 an L x L grid of overlapping squares
           of side s_L = round_half_up(2 * min(h, w) / (L + 1)) whose top-left corners are
           y_i = round_half_up(i * (h - s_L) / (L - 1)), x_j likewise with w, for i, j in
           0..L-1. round_half_up is exact (rational arithmetic), so 3.5 -> 4 and 1.5 -> 2.
  per region  the maximum over space of each channel -> a C-vector; L2-normalised;
           a region whose vector is all zero is skipped.
  result   the sum of the normalised region vectors, L2-normalised (all zeros if every
           region was skipped). Computed in float64, returned as float32.

Usage:
    python3 models/rmac.py [SIZE ...]    # prints the region boxes, default for 7x7, 8x8, 9x9
"""
import sys
from fractions import Fraction

import numpy as np

LEVELS = (2, 3)


def round_half_up(q):
    """Round a non-negative Fraction (or int) to the nearest integer, halves up."""
    q = Fraction(q)
    return (q.numerator * 2 + q.denominator) // (2 * q.denominator)


def regions(h, w, levels=LEVELS):
    """The R-MAC regions of an h x w map as (y0, x0, y1, x1), half-open: F[:, y0:y1, x0:x1].

    First the whole map, then for each L in levels the L x L grid row by row (y, then x)."""
    out = [(0, 0, h, w)]
    for L in levels:
        s = round_half_up(Fraction(2 * min(h, w), L + 1))
        ys = [round_half_up(Fraction(i * (h - s), L - 1)) for i in range(L)]
        xs = [round_half_up(Fraction(j * (w - s), L - 1)) for j in range(L)]
        for y in ys:
            for x in xs:
                out.append((y, x, y + s, x + s))
    return out


def rmac(f, levels=LEVELS):
    """R-MAC descriptor of one feature map f [C, h, w] -> float32 [C], unit L2 norm (or all zero)."""
    f = np.asarray(f, np.float64)
    if f.ndim != 3:
        raise ValueError('expected a [C, h, w] feature map, got shape %s' % (f.shape,))
    _, h, w = f.shape
    acc = np.zeros(f.shape[0], np.float64)
    for y0, x0, y1, x1 in regions(h, w, levels):
        v = f[:, y0:y1, x0:x1].max(axis=(1, 2))
        if not v.any():
            continue
        acc += v / np.linalg.norm(v)
    n = np.linalg.norm(acc)
    return (acc / n if n > 0 else acc).astype(np.float32)


def gap(f):
    """Global average pooling of f [C, h, w], L2-normalised, float32 (for comparisons)."""
    v = np.asarray(f, np.float64).mean(axis=(1, 2))
    n = np.linalg.norm(v)
    return (v / n if n > 0 else v).astype(np.float32)


def main():
    sizes = [int(a) for a in sys.argv[1:]] or [7, 8, 9]
    for n in sizes:
        rs = regions(n, n)
        print('%dx%d: %d regions (y0:y1, x0:x1)' % (n, n, len(rs)))
        for i, (y0, x0, y1, x1) in enumerate(rs):
            level = 1 if i == 0 else (2 if i <= 4 else 3)
            print('  L=%d  side %d  [%d:%d, %d:%d]' % (level, y1 - y0, y0, y1, x0, x1))


if __name__ == '__main__':
    main()
