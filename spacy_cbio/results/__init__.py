"""The results workflow: a grid of models × datasets × seeds, trained and scored, then the
paper's table (mean ± std over seeds), the bio-over-general gain and a plot."""
from .grid import Grid, ModelSpec, Run, load_grid
from .report import aggregate, gain, markdown_table, write_report

__all__ = ["Grid", "ModelSpec", "Run", "load_grid", "aggregate", "gain", "markdown_table", "write_report"]
