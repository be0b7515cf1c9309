"""Benchmarks: the real bot driven through the local Discord emulator, measured.

Run with `make bench` (or `.venv/bin/python -m benchmarks`, `--quick` for a smaller run). Not
tests: nothing here fails on a slow machine. Each figure comes with the target it is compared
against, and figures are meant to be compared within one run (ratios), since machines are noisy.
"""
