"""Data sets: synthetic fingerprinted images, the model zoo, users' folders.

Nothing here downloads anything.
"""

from ._synthetic import make_fingerprinted_images
from ._folder import list_image_files, load_image_folder, load_image_manifest
from ._base import clear_data_home, get_data_home
from ._lineage import lineage_groups
from ._zoo import make_model_zoo
from ._audit import audit_confounds
from ._audit_report import ConfoundAudit
from ._image_metadata import estimate_jpeg_quality
from ._reencoded import reencoded_copies
from ._procedural import (
    make_procedural_generators,
    make_procedural_zoo,
    render_procedural_images,
)

__all__ = [
    "make_fingerprinted_images",
    "load_image_folder",
    "load_image_manifest",
    "list_image_files",
    "make_model_zoo",
    "lineage_groups",
    "get_data_home",
    "clear_data_home",
    "audit_confounds",
    "ConfoundAudit",
    "estimate_jpeg_quality",
    "reencoded_copies",
    "make_procedural_generators",
    "render_procedural_images",
    "make_procedural_zoo",
]
