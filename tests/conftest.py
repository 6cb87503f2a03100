import numpy as np
import pytest
import torch

from skfingerprint import make_bags
from skfingerprint.datasets import make_fingerprinted_images


@pytest.fixture(scope="session")
def noise_bags_24px():
    """8 bags of 2 random 24x24 images over 2 sources: room for patches of 8."""
    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, size=(8, 2, 24, 24, 3), dtype=np.uint8)
    X.setflags(write=False)
    return X, np.repeat(["a", "b"], 4)


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


@pytest.fixture(scope="session")
def file_bags(tmp_path_factory):
    """36 bags of 2 PNG and JPEG files of 40x48 px, two sources."""
    from PIL import Image

    root = tmp_path_factory.mktemp("files")
    rng = np.random.RandomState(0)
    paths = []
    for i in range(72):
        image = rng.randint(0, 256, (40, 48, 3)).astype(np.uint8)
        image[:, :, i % 2] //= 2  # the sources differ in colour
        path = root / f"{i}.{'png' if i % 3 else 'jpg'}"
        Image.fromarray(image).save(path)
        paths.append(str(path))
    X = np.array(paths, dtype=object).reshape(36, 2)
    y = np.arange(36) % 2  # bag i holds images 2i, 2i+1
    return X, y


@pytest.fixture
def one_thread():
    """One torch thread for the test (tiny networks: thread sync would dominate)."""
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)


@pytest.fixture
def zero_quantisation_tables():
    """A function that overwrites every quantisation table of a JPEG file
    with zeros (a file Pillow still decodes, whose quality cannot be read)."""
    def zero(path):
        data = bytearray(open(path, "rb").read())
        i = data.find(b"\xff\xdb")
        while i >= 0:
            length = int.from_bytes(data[i + 2:i + 4], "big")
            j = i + 4
            while j < i + 2 + length:
                n = 128 if data[j] >> 4 else 64
                data[j + 1:j + 1 + n] = bytes(n)
                j += 1 + n
            i = data.find(b"\xff\xdb", i + 2 + length)
        open(path, "wb").write(data)

    return zero
