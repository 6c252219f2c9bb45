"""ONNX Runtime on CPU: a version's network exported once to ONNX (cached in the version
folder), optionally int8-quantised, and run by an ``onnxruntime.InferenceSession``.

The exported graph is the whole network of ``MultiTaskClassifier``: encoder, mean pooling,
both heads and their softmax, with dynamic batch and sequence axes. The lexical part, when the
version has one, stays outside the graph (``InferenceEngine`` mixes it in), as on the torch path.

Why: on these CPUs ONNX Runtime runs the same fp32 network faster than torch eager (fused
kernels, no Python per op); figures in docs/experiments.md and ``bench/classifier_throughput.py``.

The export is cached as ``<version>/onnx/<file_name(precision, depth)>``. It is written to a temporary
name and renamed, so two workers exporting at once never read a half-written file. A folder that
cannot be written to (a read-only registry) exports into a temporary directory instead.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from classifier.model.network import MultiTaskClassifier

log = logging.getLogger(__name__)

ONNX_DIR = "onnx"
OPSET = 17
ORT_PRECISIONS = ("fp32", "int8")
def int8_fp32_layers(depth: int) -> int:
    """How many of the lowest transformer layers int8 keeps in fp32, for an encoder ``depth``
    layers deep. MiniLM's six: two (with one kept, E4's default lost 0.53 topic
    accuracy points on the dev split, 0.5 allowed; with two, -0.18 topic and +0.21 sentiment,
    ~1.2x fp32's speed: docs/experiments.md, "E5"). The 3-layer student: none (-0.24 topic,
    1.45x fp32's speed; "E7"). The number is part of the cached file's name, so a
    change re-quantises instead of reading an old file."""
    return 0 if depth <= 3 else 2


def encoder_depth(folder: Path) -> int:
    """The number of transformer layers of the version in ``folder`` (its config.json)."""
    return int(json.loads((folder / "config.json").read_text())["num_hidden_layers"])


def file_name(precision: str, depth: int) -> str:
    """The cached export's file name in ``<version>/onnx/``, for an encoder ``depth`` layers deep."""
    if precision == "int8":
        return f"model.int8-fp32lower{int8_fp32_layers(depth)}.onnx"
    return f"model.{precision}.onnx"


def onnx_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def _export_fp32(model, path: Path) -> None:  # a MultiTaskClassifier

    class _Probabilities(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
            topic, sentiment = self.inner(input_ids, attention_mask)
            return torch.softmax(topic, -1), torch.softmax(sentiment, -1)

    ids = torch.full((2, 8), 100, dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 5:] = 0
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            "topic": {0: "batch"}, "sentiment": {0: "batch"}}
    was_training = model.training
    # The wrapper must be in eval mode too: the exporter restores the *wrapper's* mode on
    # every submodule afterwards, and a fresh module is in training mode (dropout on).
    wrapper = _Probabilities(model).eval()
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer warnings about Python control flow on shapes
            torch.onnx.export(wrapper, (ids, mask), str(path), dynamo=False,
                              input_names=["input_ids", "attention_mask"],
                              output_names=["topic", "sentiment"],
                              dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True)
    finally:
        model.train(was_training)


def _quantize_int8(src: Path, dst: Path, fp32_layers: int) -> None:
    """Dynamic int8 quantisation of the MatMuls, weights per output channel, except those of
    the lowest ``fp32_layers`` transformer layers, which stay fp32 (``int8_fp32_layers``)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(src), load_external_data=False).graph
    kept = tuple(f"/layer.{i}/" for i in range(fp32_layers))
    lower = [n.name for n in graph.node if any(k in n.name for k in kept)]
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantiser logs "consider pre-processing" on the root logger
    try:
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True,
                         nodes_to_exclude=lower,
                         extra_options={"DefaultTensorType": 1})  # onnx.TensorProto.FLOAT
    finally:
        root.setLevel(level)  # the process's logging is not ours to change


def _writable_dir(folder: Path) -> Path:
    target = folder / ONNX_DIR
    try:
        target.mkdir(exist_ok=True)
        probe = target / f".probe-{os.getpid()}"
        probe.touch()
        probe.unlink()
        return target
    except OSError:
        fallback = Path(tempfile.gettempdir()) / "finpulse-onnx" / folder.name
        fallback.mkdir(parents=True, exist_ok=True)
        log.warning("model folder %s is not writable: caching its ONNX export in %s", folder, fallback)
        return fallback


def ensure_onnx(folder: Path, precision: str, model=None) -> Path:
    """The ONNX file of the version in ``folder`` for ``precision``, exporting it if needed
    (``model``: the loaded ``MultiTaskClassifier``, loaded from the folder when not given)."""
    if precision not in ORT_PRECISIONS:
        raise ValueError(f"ONNX Runtime precision must be one of {ORT_PRECISIONS}, got {precision!r}")
    target_dir = _writable_dir(folder)
    depth = encoder_depth(folder)
    fp32 = target_dir / file_name("fp32", depth)
    target = target_dir / file_name(precision, depth)
    if target.is_file():
        return target
    start = time.perf_counter()
    if not fp32.is_file():
        if model is None:

            model = MultiTaskClassifier.from_folder(folder)
        tmp = target_dir / f".model.fp32.{os.getpid()}.onnx"
        _export_fp32(model, tmp)
        os.replace(tmp, fp32)
    if precision == "int8":
        tmp = target_dir / f".model.int8.{os.getpid()}.onnx"
        _quantize_int8(fp32, tmp, int8_fp32_layers(depth))
        os.replace(tmp, target)
    log.info("exported %s to ONNX (%s) in %.1fs", folder.name, precision, time.perf_counter() - start)
    return target


class OrtRunner:
    """Runs an exported model: padded token ids and mask in, (topic, sentiment) probabilities out."""

    def __init__(self, path: Path, threads: int = 0) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.inter_op_num_threads = 1
        if threads:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3
        self.path = path
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        topic, sentiment = self.session.run(None, {"input_ids": ids, "attention_mask": mask})
        return topic, sentiment
