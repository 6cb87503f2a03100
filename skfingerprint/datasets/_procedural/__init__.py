"""Procedural generators: an unlimited supply of cheap synthetic generators.

Untrained networks of random architecture, with a family tree, applied to
crops of the shipped photographs; see :func:`make_procedural_generators`,
:func:`render_procedural_images` and :func:`make_procedural_zoo`.
"""

from ._api import make_procedural_generators, make_procedural_zoo, render_procedural_images

__all__ = ["make_procedural_generators", "render_procedural_images", "make_procedural_zoo"]
