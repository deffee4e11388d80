"""Which runtime answers on this machine (torch or ONNX Runtime), at which precision, and why.

The choice is made once at start from the device, what is installed and what the CPU computes
natively; a setting that cannot work here is refused with one line saying what to set instead.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Literal

import platformdirs

from models.classifier import Classifier
from models.errors import ModelError
from models.onnx_engine import OnnxForward, cached_session
from models.service.settings import ServiceSettings

log = logging.getLogger(__name__)

EngineName = Literal["torch", "onnx"]
ServedPrecision = Literal["fp32", "bf16", "int8"]
# int8 dynamic quantisation held BANKING77 intent within 0.3 points of fp32 but lost more on
# sentiment (benchmarks/results/onnx.jsonl, docs/benchmarks.md): `auto` keeps fp32; int8 is opt-in.
INT8_ADOPTED = False
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
PACKED_REASON = "batches packed without padding (service.packed_batches)"


@dataclass(frozen=True)
class EngineChoice:
    """The runtime and precision the service answers with, and the reason, in words."""

    engine: EngineName
    precision: ServedPrecision
    reason: str


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The CPU's feature flags (empty where /proc/cpuinfo cannot be read)."""
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def native_bf16(device_type: str, flags: set[str]) -> bool:
    """Whether the device computes bf16 natively (AVX-512 BF16 / AMX on a CPU; Ampere+ GPUs)."""
    if device_type == "cuda":
        import torch

        return bool(torch.cuda.is_bf16_supported())
    return any(flag in flags for flag in NATIVE_BF16_FLAGS)


def choose_engine(settings: ServiceSettings, *, device_type: str, flags: set[str]) -> EngineChoice:
    """The engine and precision for `settings` on this device; ModelError (one line saying what
    to set) for a combination that cannot run here."""
    precision = settings.precision
    if precision == "bf16" and not native_bf16(device_type, flags):
        raise ModelError(
            f"service.precision = bf16 needs native bf16 ({' or '.join(NATIVE_BF16_FLAGS)} on a "
            f"CPU); this {device_type} emulates it slowly: set service.precision = fp32"
        )
    engine, why = _engine(settings.engine, device_type=device_type, precision=precision)
    if precision == "int8" and engine != "onnx":
        raise ModelError("service.precision = int8 runs on ONNX Runtime: set service.engine = onnx")
    if precision == "auto":
        adopted = engine == "onnx" and INT8_ADOPTED
        precision = "int8" if adopted else "fp32"
        why += "; int8: held-out accuracy within 0.3 points of fp32" if adopted else ""
    return EngineChoice(engine, precision, why)


def _engine(wanted: str, *, device_type: str, precision: str) -> tuple[EngineName, str]:
    installed = importlib.util.find_spec("onnxruntime") is not None
    if wanted == "onnx":
        if device_type != "cpu":
            raise ModelError("service.engine = onnx runs on the CPU: set service.device = cpu")
        if not installed:
            raise ModelError("service.engine = onnx needs onnxruntime: pip install onnxruntime")
        if precision == "bf16":
            raise ModelError("service.precision = bf16 runs on torch: set service.engine = torch")
        return "onnx", "configured (service.engine = onnx)"
    if wanted == "torch":
        return "torch", "configured (service.engine = torch)"
    if device_type != "cpu":
        return "torch", f"auto: torch on {device_type}"
    if precision == "bf16":
        return "torch", "auto: bf16 runs on torch (native bf16 on this CPU)"
    if not installed:
        return "torch", "auto: onnxruntime is not installed"
    return "onnx", "auto: ONNX Runtime on the CPU (faster than torch here, docs/benchmarks.md)"


def cache_dir(settings: ServiceSettings) -> Path:
    """Where ONNX exports are cached: service.engine_cache_dir, else the user cache dir."""
    return settings.engine_cache_dir or platformdirs.user_cache_path("costbot") / "onnx"


def attach_engine(
    classifier: Classifier, choice: EngineChoice, *, version: str, settings: ServiceSettings
) -> EngineChoice:
    """Make `classifier` answer with the chosen engine (exporting on first use of a version).

    Under ``engine = auto`` an export that fails its check falls back to torch fp32 with the
    reason; a configured ``onnx`` raises ModelError instead. A packed export that cannot be
    made (an encoder without position ids) falls back to padded batches, with a warning.
    """
    if choice.engine != "onnx":
        return choice
    try:
        forward, packed = _onnx_forward(classifier, choice, version=version, settings=settings)
    except (ModelError, OSError) as error:
        if settings.engine == "onnx":
            raise ModelError(f"ONNX engine unavailable: {error}") from error
        log.warning("ONNX engine unavailable, serving with torch: %s", error)
        return EngineChoice("torch", "fp32", f"auto: ONNX export failed ({error})")
    classifier.use(forward)
    return replace(choice, reason=f"{choice.reason}; {PACKED_REASON}") if packed else choice


def _onnx_forward(
    classifier: Classifier, choice: EngineChoice, *, version: str, settings: ServiceSettings
) -> tuple[OnnxForward, bool]:
    """The session to serve with, and whether it takes packed batches."""
    session = partial(
        cached_session,
        classifier,
        version=version,
        cache_dir=cache_dir(settings),
        precision="int8" if choice.precision == "int8" else "fp32",
    )
    if settings.packed_batches and choice.precision == "fp32":
        try:
            return session(packed=True), True
        except ModelError as error:
            log.warning("packed batches unavailable, padding instead: %s", error)
    return session(), False
