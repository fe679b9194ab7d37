"""Integer convolutions rewritten as integer matrix products: the same integers out, on the CPU's fast kernels."""
from __future__ import annotations

import numpy as np
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

from engines.onnx_convolution import convolutions_as_matmuls, integer_dot_product

CHANNELS, LENGTH = 6, 40
vnni_only = pytest.mark.skipif(not integer_dot_product(), reason="without VNNI onnxruntime's uint8 x int8 products may saturate")


def quantised_convolutions(layers: list[dict], seed: int = 0, opset: int = 17):
    """A model as dynamic quantisation writes it: float input -> DynamicQuantizeLinear -> one ConvInteger per
    layer (uint8 weights and zero point held in the graph), each giving an int32 output."""
    rng = np.random.default_rng(seed)
    nodes = [helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "x_scale", "x_zero"])]
    initializers, outputs = [], []
    for index, layer in enumerate(layers):
        attributes = {key: value for key, value in layer.items() if key not in ("kernel", "outputs", "channels")}
        weights = rng.integers(0, 256, (layer.get("outputs", 5), layer.get("channels", CHANNELS), layer["kernel"]), dtype=np.uint8)
        initializers += [numpy_helper.from_array(weights, f"w{index}"), numpy_helper.from_array(np.array(rng.integers(0, 256), np.uint8), f"wz{index}")]
        nodes.append(helper.make_node("ConvInteger", ["xq", f"w{index}", "x_zero", f"wz{index}"], [f"y{index}"], **attributes))
        outputs.append(helper.make_tensor_value_info(f"y{index}", TensorProto.INT32, None))
    graph = helper.make_graph(nodes, "convolutions", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, CHANNELS, LENGTH])],
                              outputs, initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def run(model, x: np.ndarray) -> list[np.ndarray]:
    return onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})


@vnni_only
def test_rewritten_convolutions_give_the_same_integers():
    layers = [{"kernel": 1}, {"kernel": 3, "pads": [1, 1]}, {"kernel": 5, "dilations": [2], "pads": [4, 4]},
              {"kernel": 4, "pads": [2, 0], "outputs": 3}, {"kernel": 3, "dilations": [3]}]
    model = quantised_convolutions(layers)
    x = np.random.default_rng(1).normal(0, 2, (1, CHANNELS, LENGTH)).astype(np.float32)
    before = run(model, x)
    assert convolutions_as_matmuls(model) == len(layers)
    operators = {node.op_type for node in model.graph.node}
    assert "ConvInteger" not in operators and "MatMulInteger" in operators
    assert not {f"w{index}" for index in range(len(layers))} & {initializer.name for initializer in model.graph.initializer}, \
        "the uint8 weights are not kept twice"
    after = run(model, x)
    for layer, old, new in zip(layers, before, after):
        assert new.dtype == np.int32 and np.array_equal(old, new), layer
    assert [len(y[0, 0]) for y in after] == [40, 40, 40, 39, 34], "lengths as the convolutions give them"


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
