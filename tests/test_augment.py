"""skfingerprint.augment: post-processing of images."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone

from skfingerprint.augment import (
    PostProcess,
    RandomPostProcessing,
    gaussian_blur,
    gaussian_noise,
    jpeg,
    resize,
)


def _smooth_images(shape, seed=0):
    """uint8 images with smooth content plus fine texture (like photographs)."""
    rng = np.random.default_rng(seed)
    *lead, h, w, c = shape
    yy, xx = np.meshgrid(np.linspace(0, 1, h), np.linspace(0, 1, w), indexing="ij")
    base = 0.5 + 0.3 * np.sin(6 * xx + 4 * yy)[..., None]
    x = base + 0.1 * rng.standard_normal(tuple(lead) + (h, w, c))
    return np.clip(np.rint(x * 255), 0, 255).astype(np.uint8)


FUNCS = {
    "jpeg": lambda x: jpeg(x, 60),
    "resize": lambda x: resize(x, 0.5),
    "resize_up": lambda x: resize(x, 1.7, interpolation="bicubic"),
    "blur": lambda x: gaussian_blur(x, 1.0),
    "noise": lambda x: gaussian_noise(x, 0.02, random_state=0),
    "random": lambda x: RandomPostProcessing(p=1.0)(x, random_state=0),
    "random_bag": lambda x: RandomPostProcessing(p=1.0, per_image=False)(x, 0),
    "postprocess": lambda x: PostProcess("resize", 0.75).fit_transform(x),
}


@pytest.mark.parametrize("name", sorted(FUNCS))
@pytest.mark.parametrize(
    "shape", [(16, 16, 3), (5, 16, 16, 3), (2, 3, 12, 8, 1), (2, 8, 8, 4), (8, 8, 2)]
)
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_shape_dtype_kept_and_input_untouched(name, shape, dtype):
    x = _smooth_images(shape)
    if dtype != np.uint8:
        x = (x / 255.0).astype(dtype)
    x.setflags(write=False)
    before = x.copy()
    out = FUNCS[name](x)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert out is not x and not np.shares_memory(out, x)
    np.testing.assert_array_equal(x, before)
    if dtype != np.uint8:
        assert 0 <= out.min() and out.max() <= 1


def test_identity_strengths_copy():
    x = _smooth_images((3, 8, 8, 3))
    for out in (resize(x, 1.0), gaussian_blur(x, 0.0), gaussian_noise(x, 0.0),
                RandomPostProcessing(p=0.0)(x),
                RandomPostProcessing(jpeg_quality=None, resize_scale=None,
                                     blur_sigma=None, noise_sigma=None, p=1.0)(x),
                PostProcess("none").transform(x)):
        np.testing.assert_array_equal(out, x)
        assert not np.shares_memory(out, x)


def test_jpeg_changes_pixels_and_quality_is_monotone():
    x = _smooth_images((4, 32, 32, 3))
    errors = [np.abs(jpeg(x, q).astype(float) - x).mean() for q in (10, 30, 50, 75, 95)]
    assert errors[-1] > 0
    assert errors == sorted(errors, reverse=True)
    # grayscale and 4-channel images: channel by channel
    assert np.abs(jpeg(x[..., :1], 30).astype(float) - x[..., :1]).mean() > 0
    np.testing.assert_array_equal(jpeg(np.concatenate([x, x[..., :1]], -1), 50)[..., 3],
                                  jpeg(x[..., :1], 50)[..., 0])
    # full-resolution colour: closer to the original
    err444 = np.abs(jpeg(x, 95, subsampling="4:4:4").astype(float) - x).mean()
    assert 0 < err444 < errors[-1]
    # floats are quantised to 8 bits like the uint8 images
    np.testing.assert_allclose(jpeg(x / 255.0, 50), jpeg(x, 50) / 255.0)


@pytest.mark.parametrize("shape", [(32, 32, 3), (27, 21, 3), (17, 33, 1)])
@pytest.mark.parametrize("quality", [35, 75, 100])
def test_jpeg_gives_the_pixels_of_a_jpeg_file_read_back(tmp_path, shape, quality):
    # what a user gets from saving the image as a JPEG file and opening it
    from PIL import Image

    x = _smooth_images((3,) + shape, seed=quality)
    mode = "RGB" if shape[-1] == 3 else "L"
    for i, img in enumerate(x):
        path = tmp_path / f"{i}.jpg"
        Image.fromarray(img if mode == "RGB" else img[..., 0], mode).save(
            path, quality=quality)
        with Image.open(path) as f:
            read = np.asarray(f.convert(mode)).reshape(shape)
        np.testing.assert_array_equal(jpeg(img, quality), read)


def _high_frequency_energy(x):
    spec = np.abs(np.fft.fft2(x.astype(float) - x.mean(axis=(-3, -2), keepdims=True),
                              axes=(-3, -2))) ** 2
    h, w = x.shape[-3:-1]
    fy = np.abs(np.fft.fftfreq(h))[:, None]
    fx = np.abs(np.fft.fftfreq(w))[None, :]
    high = (np.maximum(fy, fx) > 0.25)[..., None]
    return float((spec * high).sum() / spec.sum())


def test_resize_half_loses_high_frequencies():
    x = _smooth_images((4, 32, 32, 3))
    assert _high_frequency_energy(x) > 0.1
    for interpolation in ("bilinear", "bicubic", "lanczos"):
        out = resize(x, 0.5, interpolation=interpolation)
        assert _high_frequency_energy(out) < 0.5 * _high_frequency_energy(x)
    # a checkerboard (the Nyquist frequency) is wiped out; smooth content survives
    board = (np.indices((8, 8)).sum(0) % 2 * 255).astype(np.uint8)[..., None]
    assert resize(board, 0.5).std() < 10
    smooth = _smooth_images((16, 16, 3))
    smooth = gaussian_blur(smooth, 2.0)
    err_smooth = np.abs(resize(smooth, 0.5).astype(float) - smooth).mean()
    err_texture = np.abs(resize(x, 0.5).astype(float) - x).mean()
    assert err_smooth < 0.3 * err_texture
    # floats resize in float precision
    np.testing.assert_allclose(resize(x / 255.0, 0.5), resize(x, 0.5) / 255.0, atol=2 / 255)
    # very small scales keep at least one pixel
    assert resize(x, 0.01).shape == x.shape


def test_blur_and_noise_statistics():
    x = _smooth_images((2, 32, 32, 3))
    blurred = gaussian_blur(x, 1.0)
    assert _high_frequency_energy(blurred) < 0.3 * _high_frequency_energy(x)
    # the channels and the images of the bag are blurred independently
    np.testing.assert_array_equal(gaussian_blur(x[:1, ..., 1:2], 1.0), blurred[:1, ..., 1:2])
    flat = np.full((1, 64, 64, 1), 0.5)
    noisy = gaussian_noise(flat, 0.05, random_state=1)
    assert noisy.std() == pytest.approx(0.05, rel=0.05)
    assert noisy.mean() == pytest.approx(0.5, abs=0.01)
    # uint8: clipped and rounded
    dark = np.zeros((64, 64, 1), dtype=np.uint8)
    assert gaussian_noise(dark, 0.1, random_state=0).min() == 0


def test_determinism():
    x = _smooth_images((6, 16, 16, 3))
    np.testing.assert_array_equal(gaussian_noise(x, 0.03, 5), gaussian_noise(x, 0.03, 5))
    assert (gaussian_noise(x, 0.03, 5) != gaussian_noise(x, 0.03, 6)).any()
    aug = RandomPostProcessing(p=0.7)
    a = aug(x, random_state=np.random.default_rng(3))
    b = aug(x, random_state=np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(aug(x, 3), a)  # an int seeds the same way
    rng = np.random.default_rng(3)
    first, second = aug(x, rng), aug(x, rng)  # a Generator is advanced
    assert (first != second).any()
    # a RandomState works too, and None draws fresh entropy
    np.testing.assert_array_equal(aug(x, np.random.RandomState(0)),
                                  aug(x, np.random.RandomState(0)))
    assert aug(x).shape == x.shape


def test_random_post_processing_draws():
    x = _smooth_images((8, 16, 16, 3))
    # one fixed operation with p=1 equals the function
    only_jpeg = RandomPostProcessing(jpeg_quality=40, resize_scale=None,
                                     blur_sigma=None, noise_sigma=None, p=1.0)
    np.testing.assert_array_equal(only_jpeg(x, 0), jpeg(x, 40))
    np.testing.assert_array_equal(
        only_jpeg.set_params(per_image=False)(x, 0), jpeg(x, 40)
    )
    # per_image=False: the whole input gets one draw, so equal images stay equal
    same = np.repeat(x[:1], 8, axis=0)
    one_draw = RandomPostProcessing(p=0.5, per_image=False, noise_sigma=None)
    outs = one_draw(same, 1)
    assert all((o == outs[0]).all() for o in outs)
    # per image: equal images are processed differently
    outs = RandomPostProcessing(p=0.5, noise_sigma=None)(same, 1)
    assert any((o != outs[0]).any() for o in outs)
    # jpeg_quality ranges are integers, both ends included
    aug = RandomPostProcessing(jpeg_quality=(70, 71), resize_scale=None,
                               blur_sigma=None, noise_sigma=None, p=1.0)
    rng = np.random.default_rng(0)
    qualities = {aug._draw(rng, 1.0, aug._ranges()[1])[0][1] for _ in range(50)}
    assert qualities == {70, 71}


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda x: jpeg(x, 0), ValueError, "quality"),
        (lambda x: jpeg(x, 101), ValueError, "quality"),
        (lambda x: jpeg(x, 50.5), ValueError, "quality"),
        (lambda x: jpeg(x, "50"), ValueError, "'quality' parameter of jpeg"),
        (lambda x: jpeg(x, 50, subsampling="4:1:1"), ValueError, "subsampling"),
        (lambda x: resize(x, 0), ValueError, "scale"),
        (lambda x: resize(x, -0.5), ValueError, "scale"),
        (lambda x: resize(x, np.nan), ValueError, "scale"),
        (lambda x: resize(x, 0.5, interpolation="area"), ValueError, "interpolation"),
        (lambda x: gaussian_blur(x, -1), ValueError, "sigma"),
        (lambda x: gaussian_noise(x, -0.1), ValueError, "sigma"),
        (lambda x: gaussian_noise(x, 0.1, random_state="seed"), ValueError, "random_state"),
        (lambda x: jpeg(x.astype(np.float32), 50), ValueError, r"outside \[0, 1\]"),
        (lambda x: jpeg(x / 255.0 * np.nan, 50), ValueError, "NaN"),
        (lambda x: jpeg(x.astype(np.int16), 50), TypeError, "uint8"),
        (lambda x: jpeg(x > 0, 50), TypeError, "uint8"),
        (lambda x: jpeg(x[..., 0], 50), ValueError, "channels"),
        (lambda x: jpeg(np.zeros((4, 4, 5), np.uint8), 50), ValueError, "channels"),
        (lambda x: jpeg(x[:0], 50), ValueError, "empty"),
        (lambda x: RandomPostProcessing(p=1.5)(x), ValueError, "'p' parameter"),
        (lambda x: RandomPostProcessing(per_image=1)(x), ValueError, "'per_image' parameter"),
        (lambda x: RandomPostProcessing()(x, random_state="seed"), ValueError,
         r"'random_state' parameter of RandomPostProcessing.__call__"),
        (lambda x: RandomPostProcessing(resize_scale="big")(x), ValueError, "resize_scale"),
        (lambda x: jpeg([[[1, 2]], [[3]]], 50), ValueError, "images is ragged"),
        (lambda x: RandomPostProcessing(jpeg_quality=(90, 50))(x), ValueError, "low <= high"),
        (lambda x: RandomPostProcessing(resize_scale=(0.5, 1, 2))(x), ValueError, "pair"),
        (lambda x: RandomPostProcessing(blur_sigma=(-1, 1))(x), ValueError, "blur_sigma"),
        (lambda x: RandomPostProcessing(jpeg_quality=(0, 50))(x), ValueError, "quality"),
        (lambda x: PostProcess("crop").fit(x), ValueError, "kind"),
        (lambda x: PostProcess("jpeg", "high").transform(x), ValueError, "'value' parameter"),
        (lambda x: PostProcess("noise", random_state="x").transform(x), ValueError,
         "'random_state' parameter"),
        (lambda x: PostProcess("jpeg", 150).transform(x), ValueError, "quality"),
    ],
)
def test_bad_arguments(call, exc, match):
    x = _smooth_images((2, 8, 8, 3))
    with pytest.raises(exc, match=match):
        call(x)


def test_post_process_transformer():
    X = _smooth_images((3, 4, 16, 16, 3))
    np.testing.assert_array_equal(PostProcess("jpeg", 50).fit_transform(X), jpeg(X, 50))
    np.testing.assert_array_equal(PostProcess("jpeg").transform(X), jpeg(X, 75))
    np.testing.assert_array_equal(PostProcess("blur").transform(X), gaussian_blur(X, 1.0))
    np.testing.assert_array_equal(PostProcess("resize", 0.5, interpolation="bicubic")
                                  .transform(X), resize(X, 0.5, interpolation="bicubic"))
    noise = PostProcess("noise", 0.05, random_state=0)
    np.testing.assert_array_equal(noise.transform(X), noise.transform(X))
    rpp = PostProcess(RandomPostProcessing(p=1.0), random_state=0)
    np.testing.assert_array_equal(rpp.transform(X), RandomPostProcessing(p=1.0)(X, 0))
    c = clone(rpp)
    assert c.kind is not rpp.kind and c.kind.get_params() == rpp.kind.get_params()
    assert rpp.__sklearn_tags__().requires_fit is False


def test_random_post_processing_is_a_plain_parameter_object(tmp_path):
    from skfingerprint import load, save

    aug = RandomPostProcessing(jpeg_quality=(60, 90), noise_sigma=None, p=0.3)
    again = pickle.loads(pickle.dumps(aug))
    assert again.get_params() == aug.get_params()
    assert clone(aug).get_params() == aug.get_params()
    assert "jpeg_quality=(60, 90)" in repr(aug)
    path = tmp_path / "pp.skfp"
    save(PostProcess(aug, random_state=1), path)
    loaded = load(path)
    assert loaded.kind.get_params() == aug.get_params()
    x = _smooth_images((3, 8, 8, 3))
    np.testing.assert_array_equal(loaded.transform(x),
                                  PostProcess(aug, random_state=1).transform(x))


@pytest.mark.parametrize("estimator", [PostProcess(), PostProcess(RandomPostProcessing())],
                         ids=["PostProcess", "PostProcess(RandomPostProcessing())"])
def test_post_process_parameters_are_validated_by_scikit_learn(estimator):
    from sklearn.utils.estimator_checks import check_param_validation

    check_param_validation("PostProcess", estimator)


def test_random_post_processing_declares_every_parameter():
    aug = RandomPostProcessing()
    assert set(aug._parameter_constraints) == set(aug.get_params())
