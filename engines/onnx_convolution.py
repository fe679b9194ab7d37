"""Integer 1-D convolutions of a dynamically quantised ONNX model rewritten as integer matrix products.

onnxruntime runs `ConvInteger` (uint8 activations and weights) on a generic path; `MatMulInteger` with
uint8 activations and int8 weights runs on the CPU's integer dot-product units (VNNI, AMX). So each
1-D `ConvInteger` becomes its input's shifted copies side by side (im2col, in the graph) times its
weights, moved from uint8 to int8 (each weight and its zero point less 128: the same differences).
The products are the same integers, summed exactly in int32, so the model's output does not change
by a bit (Kokoro-82M: tested). Without VNNI, onnxruntime's uint8 x int8 kernels multiply in pairs
that can saturate 16 bits, so `integer_dot_product()` says whether the rewrite is safe here.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import onnx

# /proc/cpuinfo flags of CPUs whose uint8 x int8 products onnxruntime sums without saturating.
VNNI_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")
LAST = np.iinfo(np.int64).max  # a Slice end past the end
UINT8 = 2  # onnx.TensorProto.UINT8
GRAPH, GRAPHS = 5, 10  # onnx.AttributeProto types that hold subgraphs (If, Loop, Scan)
MIN_OPSET = 11  # Pad and Slice take their pads and bounds as inputs


def integer_dot_product(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this CPU has VNNI (or AMX) integer dot products. False where it cannot tell."""
    try:
        flags = next((line.split(":", 1)[1].split() for line in cpuinfo.read_text().splitlines() if line.startswith("flags")), [])
    except OSError:
        return False
    return any(flag in flags for flag in VNNI_FLAGS)


def _rewritable(node, initializers: dict) -> bool:
    if node.op_type != "ConvInteger" or node.input[1] not in initializers:
        return False
    if len(node.input) > 3 and node.input[3] and node.input[3] not in initializers:
        return False
    weights = initializers[node.input[1]]
    attributes = {attribute.name: attribute for attribute in node.attribute}
    strided = "strides" in attributes and list(attributes["strides"].ints) != [1]
    grouped = "group" in attributes and attributes["group"].i != 1
    auto_padded = "auto_pad" in attributes and attributes["auto_pad"].s not in (b"", b"NOTSET")
    return len(weights.dims) == 3 and weights.data_type == UINT8 and not (strided or grouped or auto_padded)


def convolutions_as_matmuls(model: onnx.ModelProto) -> int:
    """Rewrite `model` (an `onnx.ModelProto`) in place: every 1-D, ungrouped, stride-1 `ConvInteger` with
    uint8 weights held in the graph becomes im2col and a `MatMulInteger`. Returns how many were rewritten
    (none in a model of an opset before MIN_OPSET, or with subgraphs)."""
    from onnx import helper, numpy_helper

    if max((entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx")), default=0) < MIN_OPSET:
        return 0
    graph = model.graph
    if any(attribute.type in (GRAPH, GRAPHS) for node in graph.node for attribute in node.attribute):
        return 0  # a subgraph may read an outer weight by name: this pass does not look inside them
    initializers = {initializer.name: initializer for initializer in graph.initializer}
    replaced_weights = set()
    replacements = {}  # by the position of the node each replaces
    for position, node in enumerate(graph.node):
        if not _rewritable(node, initializers):
            continue
        weights = numpy_helper.to_array(initializers[node.input[1]])
        has_weight_zero = len(node.input) > 3 and bool(node.input[3])
        weight_zero = numpy_helper.to_array(initializers[node.input[3]]) if has_weight_zero else np.zeros((), np.uint8)
        activation_zero = node.input[2] if len(node.input) > 2 else ""
        attributes = {attribute.name: helper.get_attribute_value(attribute) for attribute in node.attribute}
        outputs, inputs, kernel = weights.shape
        dilation = attributes.get("dilations", [1])[0]
        before, after = attributes.get("pads", [0, 0])
        prefix = f"{node.output[0]}/as_matmul"

        def constant(name: str, value: np.ndarray) -> str:
            graph.initializer.append(numpy_helper.from_array(value, f"{prefix}/{name}"))
            return f"{prefix}/{name}"

        # (1, C, L) -> (1, L, C), padded in time with the activations' zero point (the real value 0)
        steps = [helper.make_node("Transpose", [node.input[0]], [f"{prefix}/time_major"], perm=[0, 2, 1])]
        source = f"{prefix}/time_major"
        if before or after:
            pads = constant("pads", np.array([0, before, 0, 0, after, 0], np.int64))
            steps.append(helper.make_node("Pad", [source, pads, activation_zero], [f"{prefix}/padded"]))
            source = f"{prefix}/padded"
        if kernel > 1:
            axis = constant("axis", np.array([1], np.int64))
            taps = []
            for tap in range(kernel):
                shift, short = tap * dilation, dilation * (kernel - 1 - tap)
                begin, end = constant(f"begin{tap}", np.array([shift], np.int64)), constant(f"end{tap}", np.array([-short or LAST], np.int64))
                steps.append(helper.make_node("Slice", [source, begin, end, axis], [f"{prefix}/tap{tap}"]))
                taps.append(f"{prefix}/tap{tap}")
            steps.append(helper.make_node("Concat", taps, [f"{prefix}/columns"], axis=2))
            source = f"{prefix}/columns"
        # row tap * C + channel of the columns meets weights[:, channel, tap]
        signed = (weights.astype(np.int16) - 128).astype(np.int8).transpose(2, 1, 0).reshape(kernel * inputs, outputs)
        signed_zero = (weight_zero.astype(np.int16) - 128).astype(np.int8)
        steps.append(helper.make_node("MatMulInteger", [source, constant("weights", np.ascontiguousarray(signed)), activation_zero,
                                                        constant("weight_zero", signed_zero)], [f"{prefix}/products"]))
        steps.append(helper.make_node("Transpose", [f"{prefix}/products"], [node.output[0]], perm=[0, 2, 1]))
        replacements[position] = steps
        replaced_weights.update(name for name in node.input[1:4:2] if name)
    if replacements:
        nodes = [step for position, node in enumerate(graph.node) for step in replacements.get(position, [node])]
        del graph.node[:]
        graph.node.extend(nodes)
    # Older models list every initializer among the graph's inputs too: a weight still named there stays.
    used = {name for node in graph.node for name in node.input} | {value.name for value in (*graph.input, *graph.output)}
    for name in replaced_weights - used:
        graph.initializer.remove(initializers[name])
    return len(replacements)


def session_model(path: Path, rewrite: bool = True) -> str | bytes:
    """What onnxruntime should load for the model at `path`: with `rewrite`, its integer convolutions as
    matrix products where this CPU has VNNI (and the model has any), else the file as it is."""
    if not (rewrite and integer_dot_product()):
        return str(path)
    try:
        import onnx
    except ImportError:  # a virtualenv from before the onnx package was required: as published, slower
        return str(path)

    model = onnx.load(str(path))
    return model.SerializeToString() if convolutions_as_matmuls(model) else str(path)
