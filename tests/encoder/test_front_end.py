"""phi's high-pass front end: the residual of the image and its 3x3 local mean."""

import pytest
import torch
from torch.nn import functional as F

from skfingerprint.encoder._modules import _local_mean_3x3


@pytest.mark.parametrize("shape", [(4, 3, 32, 32), (2, 1, 1, 1), (2, 3, 1, 7), (3, 2, 2, 2),
                                   (1, 3, 17, 9)])
def test_local_mean_is_the_mean_of_each_pixels_window_inside_the_image(shape):
    x = torch.rand(shape, generator=torch.Generator().manual_seed(0))
    expected = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
    torch.testing.assert_close(_local_mean_3x3(x), expected, rtol=0, atol=1e-6)
    # by hand at a corner (4 pixels) and an edge (6 pixels) where both exist
    if shape[-2] >= 3 and shape[-1] >= 3:
        torch.testing.assert_close(_local_mean_3x3(x)[..., 0, 0],
                                   x[..., :2, :2].mean(dim=(-2, -1)))
        torch.testing.assert_close(_local_mean_3x3(x)[..., 1, 0],
                                   x[..., :3, :2].mean(dim=(-2, -1)))
