"""Peer servers of the side-by-side benchmark (`python -m benchmarks.service.peers`)."""
