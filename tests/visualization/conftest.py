"""Render with the non-interactive Agg backend; skip without matplotlib."""

import pytest

try:
    import matplotlib
except ImportError:  # the plots extra is not installed
    collect_ignore_glob = ["test_*.py"]
else:
    matplotlib.use("Agg")

    @pytest.fixture(autouse=True)
    def _close_figures():
        yield
        import matplotlib.pyplot as plt

        plt.close("all")
