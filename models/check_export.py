#!/usr/bin/env python3
"""Check models/efficientnet_lite0.onnx with onnxruntime on labelled ImageNet photos.

Requirements (pip): onnxruntime numpy pillow, and `pip install --no-deps timm`
(only for its data file timm/data/_info/imagenet_synsets.txt, the sorted list of
the 1000 ILSVRC-2012 synsets; class index = position in that list).

Usage:
    python3 models/check_export.py FOLDER [--model PATH] [--size S] [--verbose]

--size S is the model's input side (default: read from the model's input shape,
else 224); preprocessing then resizes the shorter side to round(S*256/224) and
centre-crops SxS (S=224: 256 and 224).

FOLDER holds images named <synset>_<anything>.<ext> (any depth), e.g.
imagenet-100/<class name>/n01440764_123.JPEG. Prints top-1 / top-5 accuracy.
"""
import os
import sys

import numpy as np
import onnxruntime as ort
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


def resize_side(size):
    """Shorter side before the centre crop: round(size*256/224) (256 for 224, 293 for 256, 329 for 288)."""
    return int(round(size * 256 / 224))


def preprocess_image(im, size=224):
    """PIL image -> RGB, shorter side -> resize_side(size) (PIL BILINEAR), centre crop size x size,
    (x-127)/128, CHW float32."""
    im = im.convert('RGB')
    w, h = im.size
    s = resize_side(size) / min(w, h)
    im = im.resize((max(size, round(w * s)), max(size, round(h * s))), Image.BILINEAR)
    w, h = im.size
    l, t = (w - size) // 2, (h - size) // 2
    a = np.asarray(im.crop((l, t, l + size, t + size)), np.float32)
    return ((a - 127.0) / 128.0).transpose(2, 0, 1)


def preprocess(path, size=224):
    """Image file -> CHW float32 input, see preprocess_image."""
    with Image.open(path) as im:
        return preprocess_image(im, size)


def model_size(sess, default=224):
    """The model's input side if its input shape is static, else default."""
    shape = sess.get_inputs()[0].shape
    return shape[2] if isinstance(shape[2], int) else default


def imagenet_synsets():
    import importlib.util
    spec = importlib.util.find_spec('timm')  # located, not imported (importing timm needs torch)
    if spec is None:
        sys.exit('needs the synset list: pip install --no-deps timm')
    path = os.path.join(spec.submodule_search_locations[0], 'data', '_info', 'imagenet_synsets.txt')
    with open(path) as f:
        syn = [line.strip() for line in f if line.strip()]
    assert len(syn) == 1000 and syn == sorted(syn)
    return syn


def class_names():
    with open(os.path.join(HERE, 'imagenet_classes.txt')) as f:
        return [line.rstrip('\n') for line in f]


def session(model):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(model, so, providers=['CPUExecutionProvider'])


def main():
    args = [a for a in sys.argv[1:] if not a.startswith('--')]
    if not args:
        sys.exit(__doc__)
    folder = args[0]
    model = os.path.join(HERE, 'efficientnet_lite0.onnx')
    if '--model' in sys.argv:
        model = sys.argv[sys.argv.index('--model') + 1]
        args.remove(model)
    size = None
    if '--size' in sys.argv:
        size = int(sys.argv[sys.argv.index('--size') + 1])
        args.remove(str(size))
    verbose = '--verbose' in sys.argv
    index = {s: i for i, s in enumerate(imagenet_synsets())}
    names = class_names()
    sess = session(model)
    size = size or model_size(sess)
    print('model %s, input %dx%d, shorter side resized to %d' % (model, size, size, resize_side(size)))
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(folder) for f in fs if f.lower().endswith(EXTS))
    n = top1 = top5 = 0
    for path in files:
        syn = os.path.basename(path).split('_')[0]
        if syn not in index:
            continue
        label = index[syn]
        logits = sess.run(['logits'], {'input': preprocess(path, size)[None]})[0][0]
        best = np.argsort(-logits)[:5]
        n += 1
        top1 += int(best[0] == label)
        top5 += int(label in best)
        if verbose or label not in best:
            print('%s %s: label %d %s, got %s' % ('ok  ' if best[0] == label else 'MISS', os.path.basename(path),
                                                  label, names[label], [(int(b), names[b]) for b in best]))
    print('images %d  top-1 %d/%d (%.1f%%)  top-5 %d/%d (%.1f%%)' % (
        n, top1, n, 100.0 * top1 / max(n, 1), top5, n, 100.0 * top5 / max(n, 1)))


if __name__ == '__main__':
    main()
