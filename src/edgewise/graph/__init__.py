"""Graph IR and features: any ONNX model as nodes with shapes, FLOPs, bytes and kernels.

>>> from edgewise.graph import load_graph
>>> from edgewise.graph.builders import nasbench201
>>> s = load_graph(nasbench201("|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|"
...                            "+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|")).summary()
>>> s.macs > 0 and s.param_bytes > 0 and s.output_depends_on_input
True

``load_graph(path, shapes={"input": [1, 3, 224, 224]})`` binds dynamic dims;
``Graph.summary()`` gives totals, ``Graph.kernels`` the fused-kernel view and
``Graph.features()`` the named graph-level features the predictor uses.
"""

from __future__ import annotations

from edgewise.graph._features import FEATURE_NAMES, graph_features, kernel_signatures
from edgewise.graph._ir import Graph, GraphSummary, Node, TensorInfo, load_graph
from edgewise.graph._kernels import Kernel

__all__ = [
    "FEATURE_NAMES",
    "Graph",
    "GraphSummary",
    "Kernel",
    "Node",
    "TensorInfo",
    "graph_features",
    "kernel_signatures",
    "load_graph",
]
