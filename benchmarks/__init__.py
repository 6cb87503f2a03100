"""The benchmarks of skfingerprint, run from the repository root as modules::

    python -m benchmarks.paper_tables all --quick
    python -m benchmarks.speed.real_sizes --quick

Each module writes ``benchmarks/results/<name>.md`` and ``.json``, or to
``$SKFINGERPRINT_BENCHMARK_RESULTS`` when that is set (the tests, and quick
runs that must not touch the committed results).  Shared helpers live in
``benchmarks._common``; the crafting of hostile model files, shared with the
tests, in ``benchmarks._crafted_model_files``.
"""
