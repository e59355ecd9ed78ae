#!/usr/bin/python3
# Writes one tiny float16 ONNX model per candidate op into OUTDIR, plus OUTDIR/manifest.json
# ([{op, opset, file, inputs: [{name, dtype, shape}]}]). Used by ../probe_ort_fp16.js; needs Debian's
# python3-onnx and python3-numpy (run with /usr/bin/python3).
#   /usr/bin/python3 make_models.py OUTDIR OPSET
import json
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

H = TensorProto.FLOAT16
out_dir, opset = sys.argv[1], int(sys.argv[2])
os.makedirs(out_dir, exist_ok=True)
rng = np.random.default_rng(0)


def f16(shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, size=shape).astype(np.float16)


def init(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def i64(name, vals):
    return init(name, np.array(vals, dtype=np.int64))


manifest = []


def case(op, nodes, inputs, out_shape=None, inits=(), min_opset=1, outputs=None, out_type=H, domain_opsets=None,
         tag=None):
    """inputs: [(name, shape)] float16 graph inputs."""
    if opset < min_opset:
        return
    use = max(opset, min_opset) if tag else opset
    g_in = [helper.make_tensor_value_info(n, H if dt is None else dt, s) for n, s, dt in
            [(x[0], x[1], x[2] if len(x) > 2 else None) for x in inputs]]
    outs = outputs or ['y']
    types = out_type if isinstance(out_type, (list, tuple)) else [out_type] * len(outs)
    g_out = [helper.make_tensor_value_info(o, t, None) for o, t in zip(outs, types)]
    g = helper.make_graph(nodes, op, g_in, g_out, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', use)], producer_name='hyquant-fp16-probe')
    m.ir_version = 8
    name = f'{tag or op}_{use}.onnx'
    with open(os.path.join(out_dir, name), 'wb') as f:
        f.write(m.SerializeToString())
    manifest.append({'op': op, 'opset': use, 'file': name,
                     'inputs': [{'name': x[0], 'shape': x[1],
                                 'dtype': {None: 'float16', TensorProto.FLOAT: 'float32', TensorProto.INT64: 'int64'}[
                                     x[2] if len(x) > 2 else None]} for x in inputs]})


N = helper.make_node
X4 = ('x', [1, 4, 8, 8])
X2 = ('x', [4, 8])

case('Conv', [N('Conv', ['x', 'w', 'b'], ['y'], pads=[1, 1, 1, 1])], [X4], inits=[init('w', f16([8, 4, 3, 3])),
                                                                               init('b', f16([8]))])
case('ConvTranspose', [N('ConvTranspose', ['x', 'w', 'b'], ['y'], strides=[2, 2])], [X4],
     inits=[init('w', f16([4, 8, 2, 2])), init('b', f16([8]))])
case('Gemm', [N('Gemm', ['x', 'w', 'b'], ['y'], transB=1)], [X2], inits=[init('w', f16([6, 8])), init('b', f16([6]))])
case('MatMul', [N('MatMul', ['x', 'w'], ['y'])], [('x', [2, 4, 8])], inits=[init('w', f16([8, 6]))])
for op in ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'PRelu']:
    lo = 0.5 if op in ('Div', 'Pow') else -1.0
    if op == 'Pow':  # positive base: a negative one with a fractional exponent is NaN by definition
        case(op, [N('Abs', ['x'], ['a']), N(op, ['a', 'b'], ['y'])], [X4], inits=[init('b', f16([4, 1, 1], lo, 1.0))])
        continue
    case(op, [N(op, ['x', 'b'], ['y'])], [X4], inits=[init('b', f16([4, 1, 1], lo, 1.0))])
for op in ['Relu', 'Sigmoid', 'Tanh', 'Exp', 'Erf', 'Abs', 'Neg', 'Floor', 'Ceil', 'Round', 'Sign', 'Sin', 'Cos',
           'Softplus', 'Softsign', 'Identity', 'Elu', 'Selu', 'LeakyRelu', 'HardSigmoid', 'ThresholdedRelu']:
    case(op, [N(op, ['x'], ['y'])], [X4])
case('Celu', [N('Celu', ['x'], ['y'])], [X4], min_opset=12)
case('HardSwish', [N('HardSwish', ['x'], ['y'])], [X4], min_opset=14, tag='HardSwish')
case('Mish', [N('Mish', ['x'], ['y'])], [X4], min_opset=18, tag='Mish')
case('Gelu', [N('Gelu', ['x'], ['y'])], [X4], min_opset=20, tag='Gelu')
for op in ['Sqrt', 'Log', 'Reciprocal']:
    case(op, [N(op, ['a'], ['y']), N('Abs', ['x'], ['a'])], [X4], tag=op)
case('Clip', [N('Clip', ['x', 'lo', 'hi'], ['y'])], [X4],
     inits=[init('lo', np.array(-0.5, np.float16)), init('hi', np.array(0.5, np.float16))])
case('MaxPool', [N('MaxPool', ['x'], ['y'], kernel_shape=[2, 2], strides=[2, 2])], [X4])
case('AveragePool', [N('AveragePool', ['x'], ['y'], kernel_shape=[3, 3], pads=[1, 1, 1, 1])], [X4])
case('GlobalAveragePool', [N('GlobalAveragePool', ['x'], ['y'])], [X4])
case('GlobalMaxPool', [N('GlobalMaxPool', ['x'], ['y'])], [X4])
case('LpPool', [N('LpPool', ['x'], ['y'], kernel_shape=[2, 2])], [X4])
case('Concat', [N('Concat', ['x', 'b'], ['y'], axis=1)], [X4], inits=[init('b', f16([1, 2, 8, 8]))])
case('Reshape', [N('Reshape', ['x', 's'], ['y'])], [X4], inits=[i64('s', [1, -1])])
case('Transpose', [N('Transpose', ['x'], ['y'], perm=[0, 2, 3, 1])], [X4])
case('Flatten', [N('Flatten', ['x'], ['y'], axis=1)], [X4])
case('Squeeze', [N('Squeeze', ['x', 'a'], ['y'])], [X4], inits=[i64('a', [0])])
case('Unsqueeze', [N('Unsqueeze', ['x', 'a'], ['y'])], [X4], inits=[i64('a', [0])])
case('Split', [N('Split', ['x', 's'], ['y', 'z'], axis=1)], [X4], inits=[i64('s', [1, 3])], outputs=['y', 'z'])
case('Slice', [N('Slice', ['x', 'st', 'en', 'ax'], ['y'])], [X4],
     inits=[i64('st', [1]), i64('en', [3]), i64('ax', [2])])
case('Gather', [N('Gather', ['x', 'i'], ['y'], axis=1)], [X4], inits=[i64('i', [0, 2])])
case('GatherElements', [N('GatherElements', ['x', 'i'], ['y'], axis=1)], [X4],
     inits=[i64('i', np.zeros([1, 2, 8, 8], np.int64))])
case('GatherND', [N('GatherND', ['x', 'i'], ['y'])], [X4], inits=[i64('i', [[0, 1]])])
case('ScatterElements', [N('ScatterElements', ['x', 'i', 'u'], ['y'], axis=1)], [X4],
     inits=[i64('i', np.zeros([1, 1, 8, 8], np.int64)), init('u', f16([1, 1, 8, 8]))])
case('ScatterND', [N('ScatterND', ['x', 'i', 'u'], ['y'])], [X4],
     inits=[i64('i', [[0, 1]]), init('u', f16([1, 8, 8]))])
case('Pad', [N('Pad', ['x', 'p', 'v'], ['y'])], [X4],
     inits=[i64('p', [0, 0, 1, 1, 0, 0, 1, 1]), init('v', np.array(0, np.float16))])
case('Resize', [N('Resize', ['x', '', 's'], ['y'], mode='linear')], [X4],
     inits=[init('s', np.array([1, 1, 2, 2], np.float32))], min_opset=11, tag='Resize')
case('ResizeNearest', [N('Resize', ['x', '', 's'], ['y'], mode='nearest')], [X4],
     inits=[init('s', np.array([1, 1, 2, 2], np.float32))], min_opset=11)
for op in ['Softmax', 'LogSoftmax', 'Hardmax']:
    case(op, [N(op, ['x'], ['y'], axis=-1)], [X4])
case('LayerNormalization', [N('LayerNormalization', ['x', 'g', 'b'], ['y'], axis=-1)], [X4],
     inits=[init('g', f16([8])), init('b', f16([8]))], min_opset=17, tag='LayerNormalization')
case('BatchNormalization', [N('BatchNormalization', ['x', 's', 'b', 'm', 'v'], ['y'])], [X4],
     inits=[init('s', f16([4])), init('b', f16([4])), init('m', f16([4])), init('v', f16([4], 0.5, 1.0))])
case('InstanceNormalization', [N('InstanceNormalization', ['x', 's', 'b'], ['y'])], [X4],
     inits=[init('s', f16([4])), init('b', f16([4]))])
case('LRN', [N('LRN', ['x'], ['y'], size=3)], [X4])
for op in ['ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceSum', 'ReduceProd', 'ReduceL2', 'ReduceSumSquare',
           'ReduceLogSumExp']:
    if op == 'ReduceSum' or opset >= 18:
        case(op, [N(op, ['x', 'a'], ['y'])], [X4], inits=[i64('a', [1])])
    else:
        case(op, [N(op, ['x'], ['y'], axes=[1])], [X4])
case('ArgMax', [N('ArgMax', ['x'], ['y'], axis=1)], [X4], out_type=TensorProto.INT64)
case('TopK', [N('TopK', ['x', 'k'], ['y', 'i'], axis=-1)], [X4], inits=[i64('k', [3])], outputs=['y', 'i'],
     out_type=[H, TensorProto.INT64])
case('Where', [N('Greater', ['x', 'z'], ['c']), N('Where', ['c', 'x', 'z'], ['y'])], [X4],
     inits=[init('z', np.array(0, np.float16))])
for op in ['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual']:
    case(op, [N(op, ['x', 'z'], ['y'])], [X4], inits=[init('z', np.array(0, np.float16))], out_type=TensorProto.BOOL)
case('Expand', [N('Expand', ['x', 's'], ['y'])], [('x', [1, 4, 1, 8])], inits=[i64('s', [2, 4, 3, 8])])
case('Tile', [N('Tile', ['x', 'r'], ['y'])], [X4], inits=[i64('r', [1, 1, 2, 1])])
case('DepthToSpace', [N('DepthToSpace', ['x'], ['y'], blocksize=2)], [X4])
case('SpaceToDepth', [N('SpaceToDepth', ['x'], ['y'], blocksize=2)], [X4])
case('Cast', [N('Cast', ['x'], ['y'], to=TensorProto.FLOAT)], [X4], out_type=TensorProto.FLOAT)
case('CastToHalf', [N('Cast', ['x'], ['y'], to=TensorProto.FLOAT16)], [('x', [1, 4, 8, 8], TensorProto.FLOAT)])
case('Shape', [N('Shape', ['x'], ['y'])], [X4], out_type=TensorProto.INT64)
case('Dropout', [N('Dropout', ['x'], ['y'])], [X4])
case('CumSum', [N('CumSum', ['x', 'a'], ['y'])], [X4], inits=[i64('a', 1)])
case('Einsum', [N('Einsum', ['x', 'w'], ['y'], equation='bij,jk->bik')], [('x', [2, 4, 8])],
     inits=[init('w', f16([8, 6]))])
case('Trilu', [N('Trilu', ['x'], ['y'])], [X4], min_opset=14)
case('ConstantOfShape', [N('Shape', ['x'], ['s']), N('ConstantOfShape', ['s'], ['y'],
                                                     value=helper.make_tensor('v', H, [1], [1.0]))], [X4])
case('QuantizeLinear', [N('QuantizeLinear', ['x', 's', 'z'], ['y'])], [X4],
     inits=[init('s', np.array(0.01, np.float16)), init('z', np.array(0, np.uint8))], out_type=TensorProto.UINT8)
case('DequantizeLinear', [N('QuantizeLinear', ['x', 's', 'z'], ['q']), N('DequantizeLinear', ['q', 's', 'z'], ['y'])],
     [X4], inits=[init('s', np.array(0.01, np.float16)), init('z', np.array(0, np.uint8))])

with open(os.path.join(out_dir, 'manifest.json'), 'w') as f:
    json.dump(manifest, f)
print(len(manifest))
