"""Enrolling a new source without retraining (issue 9): the same run as open_set.py.

For every source of the zoo, the encoder is fitted without it; the source is
then enrolled into the fitted ``NearestFingerprintClassifier`` from 1, 2, 5
or 10 of its bags, and attribution is measured on its held-out bags and on
the known sources.  The leave-one-source-out fits are shared with the
open-set benchmark, so this command runs ``benchmarks/open_set.py`` and
writes both ``results/enrollment.md`` and ``results/open_set.md``::

    python benchmarks/enrollment.py [--quick] [--sources real,vae_plain]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from open_set import main  # noqa: E402

if __name__ == "__main__":
    main()
