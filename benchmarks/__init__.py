"""Benchmarks of the pack against the embedded emulator (run: bash devtools/dev.sh bench)."""
