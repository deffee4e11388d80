"""The engine chosen per machine: ONNX Runtime on the CPU, exported once per model version and
checked against torch; settings that cannot run here are refused with one line."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from models import onnx_engine
from models.errors import ModelError
from models.service.engine import choose_engine
from models.service.model import ServedModel, load_served_model
from models.service.settings import ServiceSettings

TEXTS = ["will it rain tomorrow", "i want to order a pizza", "play my guitar playlist please", "x"]


def _settings(adapters_dir: Path, cache: Path, **values: object) -> ServiceSettings:
    return ServiceSettings(
        adapters_dir=adapters_dir, device="cpu", engine_cache_dir=cache, **values
    )


def test_auto_serves_onnx_fp32_on_the_cpu_with_torchs_answers(served_model: ServedModel) -> None:
    assert (served_model.engine.engine, served_model.engine.precision) == ("onnx", "fp32")
    classifier = served_model.classifier
    onnx = classifier.probabilities(classifier.tokenizer(TEXTS)["input_ids"], ["intent"])
    forward = classifier.forward
    classifier.use(None)
    try:
        torch_ = classifier.probabilities(classifier.tokenizer(TEXTS)["input_ids"], ["intent"])
    finally:
        classifier.use(forward)
    assert forward is not None
    assert np.abs(onnx["intent"] - torch_["intent"]).max() < 1e-4


def test_the_served_session_spins_only_within_a_run(served_model: ServedModel) -> None:
    """Threads that sleep between operators cost a lone text ~0.5 ms; threads that spin past
    a run would hold both cores of a small machine between batches."""
    forward = served_model.classifier.forward
    assert isinstance(forward, onnx_engine.PackedOnnxForward) and forward.spinning
    options = forward._session.get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "1"
    assert options.get_session_config_entry("session.force_spinning_stop") == "1"
    sleeping = onnx_engine.PackedOnnxForward(
        forward.path, tasks=forward.tasks, pooling=forward.pooling, pad_id=0, spinning=False
    )
    entry = sleeping._session.get_session_options().get_session_config_entry
    assert entry("session.intra_op.allow_spinning") == "0"
    ids, mask = onnx_engine.pad([[101, 2054, 102]], 0)
    same = (f.logits(ids, mask, ["intent"])["intent"] for f in (forward, sleeping))
    np.testing.assert_allclose(*same, atol=1e-6)


@pytest.mark.parametrize("layout", ["packed", "padded"])
def test_onnx_batches_answer_as_one_text_per_forward(
    served_model: ServedModel, layout: str
) -> None:
    """Packed (several texts a sequence, in several packs) or padded (length buckets), a text
    gets the answer it gets alone."""
    classifier = served_model.classifier
    served = classifier.forward
    assert isinstance(served, onnx_engine.PackedOnnxForward)
    forward = onnx_engine.PackedOnnxForward(
        served.path, tasks=served.tasks, pooling=served.pooling, pad_id=0, pack_tokens=12
    )
    if layout == "padded":
        forward = onnx_engine.OnnxForward(served.path.with_name("fp32.onnx"), tasks=served.tasks)
    texts = [*TEXTS, "will it rain " * 9, "i would like a large pizza with olives please"]
    classifier.use(forward)
    try:
        together = classifier.predict(texts, batch_size=16)
        buckets = len(classifier.last_batches)
        alone = [classifier.predict([text])[0] for text in texts]
    finally:
        classifier.use(served)
    assert buckets == (1 if layout == "packed" else 2)
    for batched, single in zip(together, alone, strict=True):
        for task, answer in batched.tasks.items():
            assert answer.label == single.tasks[task].label
            assert answer.score == pytest.approx(single.tasks[task].score, abs=1e-5)


def test_export_is_cached_per_version_with_its_check(adapters_dir: Path, tmp_path: Path) -> None:
    first = load_served_model(_settings(adapters_dir, tmp_path))
    entry = tmp_path / first.version
    manifest = entry / onnx_engine.MANIFEST
    written = manifest.stat().st_mtime_ns
    check = json.loads(manifest.read_text())
    assert check["version"] == first.version
    assert check["max_abs_diff"]["fp32.onnx"] < onnx_engine.FP32_TOLERANCE
    assert check["max_abs_diff"]["packed.onnx"] < onnx_engine.FP32_TOLERANCE
    names = {p.name for p in entry.iterdir()}
    assert names == {"fp32.onnx", "int8.onnx", "packed.onnx", "export.json"}
    second = load_served_model(_settings(adapters_dir, tmp_path, precision="int8"))
    assert manifest.stat().st_mtime_ns == written  # loaded, not exported again
    assert second.engine.precision == "int8"
    assert [p.name for p in tmp_path.iterdir()] == [first.version]  # no staging left behind


def _entry_without_packed(served_model: ServedModel, adapters_dir: Path, cache: Path) -> Path:
    """A copy of the session's cache entry as a costbot before packing left it."""
    entry = cache / served_model.version
    shutil.copytree(adapters_dir.parent / "onnx-cache" / served_model.version, entry)
    (entry / "packed.onnx").unlink()
    check = onnx_engine.read_check(cache, served_model.version)
    diffs = {k: v for k, v in check.max_abs_diff.items() if k != "packed.onnx"}
    manifest = {**dataclasses.asdict(check), "max_abs_diff": diffs}
    (entry / onnx_engine.MANIFEST).write_text(json.dumps(manifest))
    return entry


def test_an_entry_made_before_packing_gets_its_packed_graph_added(
    served_model: ServedModel, adapters_dir: Path, tmp_path: Path
) -> None:
    entry = _entry_without_packed(served_model, adapters_dir, tmp_path)
    fp32_written = (entry / "fp32.onnx").stat().st_mtime_ns
    padded = load_served_model(_settings(adapters_dir, tmp_path, packed_batches=False))
    assert type(padded.classifier.forward) is onnx_engine.OnnxForward
    assert "packed" not in padded.engine.reason
    assert not (entry / "packed.onnx").exists()
    packed = load_served_model(_settings(adapters_dir, tmp_path))
    assert isinstance(packed.classifier.forward, onnx_engine.PackedOnnxForward)
    assert "batches packed without padding" in packed.engine.reason
    assert (entry / "fp32.onnx").stat().st_mtime_ns == fp32_written  # not exported again
    diffs = onnx_engine.read_check(tmp_path, served_model.version).max_abs_diff
    assert diffs["packed.onnx"] < onnx_engine.FP32_TOLERANCE
    assert sorted(p.name for p in entry.iterdir()) == sorted(
        ["fp32.onnx", "int8.onnx", "packed.onnx", "export.json"]
    )


def test_an_encoder_that_cannot_be_packed_is_served_padded(
    served_model: ServedModel,
    adapters_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def no_position_ids(*args: object) -> None:
        raise TypeError("forward() got an unexpected keyword argument 'position_ids'")

    entry = _entry_without_packed(served_model, adapters_dir, tmp_path)
    monkeypatch.setattr(onnx_engine, "export_packed_onnx", no_position_ids)
    with caplog.at_level(logging.WARNING):
        served = load_served_model(_settings(adapters_dir, tmp_path))
    assert (served.engine.engine, served.engine.precision) == ("onnx", "fp32")
    assert type(served.classifier.forward) is onnx_engine.OnnxForward
    assert "packed batches unavailable, padding instead" in caplog.text
    assert "position_ids" in caplog.text
    assert not (entry / "packed.onnx").exists()
    assert not [p for p in entry.iterdir() if p.name.startswith(".")]  # no staging left


def test_a_mismatching_export_is_refused(
    adapters_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(onnx_engine, "FP32_TOLERANCE", -1.0)  # every export "differs"
    with pytest.raises(ModelError, match=r"differs from torch .* set service.engine = torch"):
        load_served_model(_settings(adapters_dir, tmp_path / "a", engine="onnx"))
    fallback = load_served_model(_settings(adapters_dir, tmp_path / "b"))
    assert (fallback.engine.engine, fallback.engine.precision) == ("torch", "fp32")
    assert "ONNX export failed" in fallback.engine.reason
    assert not any((tmp_path / "b").iterdir())  # nothing half-written kept


@pytest.mark.parametrize(
    ("values", "device", "flags", "message"),
    [
        ({"precision": "bf16"}, "cpu", {"avx2"}, "needs native bf16"),
        ({"precision": "int8", "engine": "torch"}, "cpu", set(), "int8 runs on ONNX Runtime"),
        ({"engine": "onnx"}, "cuda", set(), "runs on the CPU"),
        ({"engine": "onnx", "precision": "bf16"}, "cpu", {"avx512_bf16"}, "bf16 runs on torch"),
    ],
)
def test_settings_that_cannot_run_here_are_refused_in_one_line(
    values: dict[str, str], device: str, flags: set[str], message: str
) -> None:
    with pytest.raises(ModelError, match=message) as error:
        choose_engine(ServiceSettings(**values), device_type=device, flags=flags)
    assert "\n" not in str(error.value) and "set" in str(error.value)


def test_bf16_where_the_cpu_has_it_runs_on_torch() -> None:
    choice = choose_engine(
        ServiceSettings(precision="bf16"), device_type="cpu", flags={"avx512_bf16"}
    )
    assert (choice.engine, choice.precision) == ("torch", "bf16")
    forced = choose_engine(ServiceSettings(engine="torch"), device_type="cpu", flags=set())
    assert (forced.engine, forced.precision, forced.reason) == (
        "torch",
        "fp32",
        "configured (service.engine = torch)",
    )


def test_the_startup_log_names_engine_precision_and_why(
    adapters_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from models.service import create_app
    from storage.db import create_db_engine
    from storage.migrate import upgrade
    from tests.conftest import fast_test_settings
    from tests.loopback import running
    from tests.service.conftest import service_settings

    database = fast_test_settings(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path)
    upgrade(create_db_engine(database))
    settings = service_settings(database, adapters_dir, engine_cache_dir=tmp_path / "cache")
    with caplog.at_level(logging.INFO, logger="models.service.app"), running(create_app(settings)):
        pass
    ready = [r.getMessage() for r in caplog.records if "model service ready" in r.getMessage()]
    assert ready and "engine onnx fp32 (auto: ONNX Runtime on the CPU" in ready[0]
