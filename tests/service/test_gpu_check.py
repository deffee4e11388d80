"""The GPU proof command: on a machine without CUDA it says so in one line and measures nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_without_cuda_the_gpu_check_says_so_in_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.gpu", "--seconds", "1"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 3, done.stderr[-2000:]
    assert done.stdout.splitlines() == [done.stdout.strip()]
    assert done.stdout.startswith("no CUDA device: torch ")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU")
def test_on_a_gpu_it_measures_energy_per_inference() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.gpu", "--seconds", "5"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    assert '"nvml_j_per_inference"' in done.stdout
