"""Writing a torch module as an ONNX or TorchScript file, optionally int8, and running such a file again.

* ONNX: torch's default exporter (``torch.onnx.export(dynamo=True)``, which needs ``onnxscript``), and where it
  fails the legacy TorchScript-based one (``dynamo=False``); :class:`Written` says which one wrote the file.
  The batch dimension of every input and output is dynamic.
* TorchScript: ``torch.jit.trace`` on the example inputs (the modules of :mod:`~gymsuite.supervised.exportable`
  hold no data-dependent control flow, so a trace is the whole program).
* int8: onnxruntime's dynamic quantisation (``quantize_dynamic``: int8 weights of MatMul/Gemm/LSTM..., activations
  quantised per call) for ONNX; torch's dynamic quantisation (``nn.Linear`` and ``nn.LSTM``) for TorchScript.

:func:`runner` loads a written file as ``inputs -> outputs`` over numpy arrays, in onnxruntime or torch.

Shapes: B batch (dynamic); the inputs and outputs are the module's (see :mod:`~gymsuite.supervised.exportable`).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch as th
from torch import nn

FORMATS = ("onnx", "torchscript")
SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt"}
OPSET = 18  # the dynamo exporter's default; the legacy exporter is asked for the same
# torch's dynamic quantisation converts these layer types; a policy with others (convolutions) keeps them float
TORCH_INT8_LAYERS: tuple[type[nn.Module], ...] = (nn.Linear, nn.LSTM)

Runner = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]


@dataclass(frozen=True)
class Written:
    """What :func:`write` wrote: the file, its format, the exporter (``dynamo``, ``legacy`` or ``jit.trace``),
    whether it is int8, and why the default exporter was not used (empty when it was)."""

    path: Path
    format: str
    exporter: str
    int8: bool
    fallback_reason: str = ""


def write(module: nn.Module, example: Sequence[th.Tensor], input_names: Sequence[str],
          output_names: Sequence[str], fmt: str, path: Path, int8: bool = False) -> Written:
    """Export ``module`` (in eval mode) called on ``example`` to ``tmp``-then-``path``; see the module docstring.

    The caller makes ``path`` atomic (``common/files.atomic_write`` hands a temporary path here).

    Raises:
        RuntimeError: neither ONNX exporter could export ``module`` (the last error's message).
    """
    module.eval()
    if fmt == "torchscript":
        if int8:
            module = quantize_torch(module)
        with th.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about Python values in SB3's code: none reach the output
            traced = th.jit.trace(module, tuple(example), check_trace=False)
        th.jit.save(traced, str(path))
        return Written(path, fmt, "jit.trace", int8)
    if int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic  # on first use: see runner()

        with tempfile.TemporaryDirectory() as folder:
            float_file = Path(folder) / "float.onnx"
            written = write(module, example, input_names, output_names, fmt, float_file)
            with _quiet():
                quantize_dynamic(float_file, path, weight_type=QuantType.QInt8)
        return Written(path, fmt, written.exporter, True, written.fallback_reason)
    batch = {name: {0: "batch"} for name in (*input_names, *output_names)}
    batch.update({name: {1: "batch"} for name in ("h", "c", "h_out", "c_out") if name in batch})  # (L, B, H)
    try:
        with _quiet():
            program = th.onnx.export(module, tuple(example), input_names=list(input_names),
                                     output_names=list(output_names), dynamic_axes=batch, opset_version=OPSET,
                                     dynamo=True, verbose=False)
            assert program is not None
            program.save(str(path))
        return Written(path, fmt, "dynamo", False)
    except Exception as err:  # noqa: BLE001  any failure of the new exporter sends the module to the legacy one
        reason = f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"[:300]
    with _quiet():
        th.onnx.export(module, tuple(example), str(path), input_names=list(input_names),
                       output_names=list(output_names), dynamic_axes=batch, opset_version=OPSET, dynamo=False)
    return Written(path, fmt, "legacy", False, reason)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporters and the quantiser log progress and warnings about SB3's Python code (onnxruntime's quantiser
    through the root logger); a command prints its own report instead."""
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(logging.NOTSET)


def quantize_torch(module: nn.Module) -> nn.Module:
    """``module`` with its ``nn.Linear`` and ``nn.LSTM`` layers dynamically quantised to int8 (a copy)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notice (moving to torchao)
        return th.ao.quantization.quantize_dynamic(module, set(TORCH_INT8_LAYERS), dtype=th.qint8, inplace=False)


def float_layers_left(module: nn.Module) -> list[str]:
    """The kinds of weighted layer torch's dynamic quantisation would leave float (e.g. ``Conv2d``), sorted."""
    kinds = {type(m).__name__ for m in module.modules()
             if any(True for _ in m.parameters(recurse=False)) and not isinstance(m, TORCH_INT8_LAYERS)
             and not isinstance(m, nn.LayerNorm | nn.Embedding)}
    return sorted(kinds)


def runner(path: Path, fmt: str, output_names: Sequence[str], threads: int = 1) -> Runner:
    """``inputs -> outputs`` (numpy, by name) for the file ``path`` of format ``fmt``: onnxruntime or torch.

    ``output_names``: the names the file was written with (TorchScript keeps none: its outputs are positional).
    """
    if fmt == "onnx":
        import onnxruntime as ort  # on first use: about 0.8 s that every command would pay at start

        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = threads
        options.log_severity_level = 3
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        names = list(output_names)

        def run_onnx(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            return dict(zip(names, session.run(names, inputs), strict=True))
        return run_onnx
    scripted = th.jit.load(str(path), map_location="cpu")

    def run_torchscript(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        with th.no_grad():
            out = scripted(*(th.as_tensor(v) for v in inputs.values()))
        return {name: o.numpy() for name, o in zip(output_names, out, strict=True)}
    return run_torchscript


def file_bytes(path: Path) -> int:
    """The size of ``path`` in bytes."""
    return os.path.getsize(path)
