"""The results workflow: a grid of models × datasets × seeds, trained and scored; settings
chosen on the dev scores of the selection seeds, tables and paired tests on the test scores of
the report seeds; every run recorded with the content hashes of its inputs."""
from .grid import Grid, GridError, ModelSpec, Run, load_grid
from .report import ProtocolError, build_report, paired_stats, seed_table, write_report

__all__ = ["Grid", "GridError", "ModelSpec", "Run", "load_grid", "ProtocolError", "build_report",
           "paired_stats", "seed_table", "write_report"]
