"""The GPU path, proven on a machine that has one (`python -m benchmarks.gpu`)."""
