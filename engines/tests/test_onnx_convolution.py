"""Integer convolutions rewritten as integer matrix products: the same integers out, on the CPU's fast kernels."""
from __future__ import annotations

import numpy as np
import onnxruntime
from onnx import TensorProto, helper, numpy_helper

from engines.onnx_convolution import convolutions_as_matmuls, integer_dot_product

CHANNELS, LENGTH = 6, 40
# Weights within 64 of 128, so within +-64 once moved to int8: pairs of uint8 x int8 products then stay within
# 16 bits, and the rewritten model gives the same integers on CPUs without VNNI too (where the engine does not
# rewrite Kokoro's, whose weights span the whole range).
WEIGHT_RANGE = (64, 193)


def quantised_convolutions(layers: list[dict], seed: int = 0, opset: int = 17):
    """A model as dynamic quantisation writes it: float input -> DynamicQuantizeLinear -> one ConvInteger per
    layer (uint8 weights and zero point held in the graph; `zero_points=False`: none given; `weights`: another
    layer's), each giving an int32 output."""
    rng = np.random.default_rng(seed)
    nodes = [helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "x_scale", "x_zero"])]
    initializers, outputs = [], []
    for index, layer in enumerate(layers):
        attributes = {key: value for key, value in layer.items() if key not in ("kernel", "outputs", "channels", "zero_points", "weights")}
        weights = f"w{layer.get('weights', index)}"
        if "weights" not in layer:
            shape = (layer.get("outputs", 5), layer.get("channels", CHANNELS), layer["kernel"])
            initializers += [numpy_helper.from_array(rng.integers(*WEIGHT_RANGE, shape, dtype=np.uint8), weights),
                             numpy_helper.from_array(np.array(rng.integers(96, 161), np.uint8), f"wz{index}")]
        inputs = ["xq", weights, "x_zero", f"wz{layer.get('weights', index)}"] if layer.get("zero_points", True) else ["xq", weights]
        nodes.append(helper.make_node("ConvInteger", inputs, [f"y{index}"], **attributes))
        outputs.append(helper.make_tensor_value_info(f"y{index}", TensorProto.INT32, None))
    graph = helper.make_graph(nodes, "convolutions", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, CHANNELS, LENGTH])],
                              outputs, initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def run(model, x: np.ndarray) -> list[np.ndarray]:
    return onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})


def test_rewritten_convolutions_give_the_same_integers():
    layers = [{"kernel": 1}, {"kernel": 3, "pads": [1, 1]}, {"kernel": 5, "dilations": [2], "pads": [4, 4]},
              {"kernel": 4, "pads": [2, 0], "outputs": 3}, {"kernel": 3, "dilations": [3]}, {"kernel": 3, "pads": [1, 1], "zero_points": False}]
    model = quantised_convolutions(layers)
    x = np.random.default_rng(1).normal(0, 2, (1, CHANNELS, LENGTH)).astype(np.float32)
    before = run(model, x)
    assert convolutions_as_matmuls(model) == len(layers)
    operators = [node.op_type for node in model.graph.node]
    assert "ConvInteger" not in operators and operators.count("MatMulInteger") == len(layers)
    assert not {f"w{index}" for index in range(len(layers))} & {initializer.name for initializer in model.graph.initializer}, \
        "the uint8 weights are not kept twice"
    after = run(model, x)
    for layer, old, new in zip(layers, before, after):
        assert new.dtype == np.int32 and np.array_equal(old, new), layer
    assert [len(y[0, 0]) for y in after] == [40, 40, 40, 39, 34, 40], "lengths as the convolutions give them"


def test_weights_a_convolution_left_as_it_is_still_reads_are_kept():
    model = quantised_convolutions([{"kernel": 3, "pads": [1, 1]}, {"kernel": 3, "strides": [2], "weights": 0}])
    x = np.random.default_rng(2).normal(0, 1, (1, CHANNELS, LENGTH)).astype(np.float32)
    before = run(model, x)
    assert convolutions_as_matmuls(model) == 1
    assert "w0" in {initializer.name for initializer in model.graph.initializer}
    assert all(np.array_equal(old, new) for old, new in zip(before, run(model, x)))


def test_convolutions_it_cannot_rewrite_are_left_as_they_are():
    model = quantised_convolutions([{"kernel": 3, "strides": [2]}, {"kernel": 3, "group": 2, "channels": CHANNELS // 2}])
    assert convolutions_as_matmuls(model) == 0
    assert [node.op_type for node in model.graph.node].count("ConvInteger") == 2
    older = quantised_convolutions([{"kernel": 3, "pads": [1, 1]}], opset=10)
    assert convolutions_as_matmuls(older) == 0, "before opset 11 Pad and Slice take no inputs for their bounds"


def test_cpu_flags_decide_the_rewrite(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f\n")
    assert not integer_dot_product(cpuinfo), "AVX2 and AVX-512 alone may saturate"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_vnni\n")
    assert integer_dot_product(cpuinfo)
    assert not integer_dot_product(tmp_path / "absent")
