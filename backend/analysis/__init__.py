"""Per-neuron analysis over a dataset: top images (with maps), class selectivity,
activation histograms and moments, all from one streaming pass."""

from backend.analysis.result import Analysis, selectivity
from backend.analysis.run import DEAD_STD, analyze

__all__ = ["DEAD_STD", "Analysis", "analyze", "selectivity"]
