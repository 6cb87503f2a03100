"""Display objects for fingerprints, in the style of scikit-learn's Displays.

matplotlib is an optional dependency (``pip install "skfingerprint[plots]"``),
imported only when something is drawn.
"""

from ._correlation_matrix import CorrelationMatrixDisplay
from ._dendrogram import FamilyDendrogramDisplay
from ._reliability import ReliabilityDisplay
from ._stability import StabilityDisplay

__all__ = [
    "CorrelationMatrixDisplay",
    "FamilyDendrogramDisplay",
    "ReliabilityDisplay",
    "StabilityDisplay",
]
