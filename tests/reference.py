"""Where the reference data and standard test vectors live: copied into ``tests/data/`` with
each source's notice beside it (see ``tests/data/README.md``), so a clone needs nothing else."""

from pathlib import Path

TEST_DATA = Path(__file__).resolve().parent / "data"
