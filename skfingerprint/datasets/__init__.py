"""Data sets: synthetic fingerprinted images, the model zoo, users' folders.

Nothing here downloads anything.
"""

from ._synthetic import make_fingerprinted_images
from ._folder import load_image_folder, load_image_manifest
from ._base import clear_data_home, get_data_home
from ._lineage import lineage_groups
from ._zoo import make_model_zoo

__all__ = [
    "make_fingerprinted_images",
    "load_image_folder",
    "load_image_manifest",
    "make_model_zoo",
    "lineage_groups",
    "get_data_home",
    "clear_data_home",
]
