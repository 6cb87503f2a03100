import numpy as np
import pytest
import torch

from skfingerprint import make_bags
from skfingerprint.datasets import make_fingerprinted_images


@pytest.fixture(scope="session")
def small_bags():
    """4 synthetic models, bags of 8 images of 16x16: fast to train on."""
    data = make_fingerprinted_images(
        n_models=4, n_images_per_model=96, image_size=16, strength=0.03,
        random_state=0,
    )
    X, y = make_bags(data.images, data.labels, bag_size=8, random_state=0)
    X.setflags(write=False)
    return X, y


@pytest.fixture(scope="session")
def attribution_bags():
    """8 models in 2 families, 10 bags of 8 images of 16x16 each (10-fold CV)."""
    data = make_fingerprinted_images(
        n_models=8, n_images_per_model=80, image_size=16, strength=0.03,
        random_state=1,
    )
    X, y = make_bags(data.images, data.labels, bag_size=8, random_state=1)
    X.setflags(write=False)
    return X, y, data




@pytest.fixture
def one_thread():
    """One torch thread for the test (tiny networks: thread sync would dominate)."""
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)
