"""The benchmark: `python -m bench.run`, from the kit's folder (bench/README.md)."""
