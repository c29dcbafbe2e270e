"""minigan.viz pictures: torchvision's make_grid/save_image, the book's loss plots (BOOK_SPEC
§1.8), image grids (§1.8, §4.14), the 1010 snapshots (§4.06) and the training GIF."""
import math
import subprocess
import sys

import numpy as np
import pytest

import minigan
from minigan.viz import (make_grid, plot_gan_progress, plot_images, plot_pattern_snapshots,
                         plot_progress, save_gif, save_image, to_uint8_image)

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402


def constant_batch(b, c, h, w):
    """Image k is filled with k+1, so every cell of a grid says which image landed there."""
    return np.stack([np.full((c, h, w), k + 1.0) for k in range(b)]).astype(np.float32)


def torchvision_make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None,
                          scale_each=False, pad_value=0.0):
    """torchvision.utils.make_grid as its source reads, on real torch tensors (the reference)."""
    import torch
    if isinstance(tensor, list):
        tensor = torch.stack(tensor, dim=0)
    if tensor.dim() == 2:
        tensor = tensor.unsqueeze(0)
    if tensor.dim() == 3:
        if tensor.size(0) == 1:
            tensor = torch.cat((tensor, tensor, tensor), 0)
        tensor = tensor.unsqueeze(0)
    if tensor.dim() == 4 and tensor.size(1) == 1:
        tensor = torch.cat((tensor, tensor, tensor), 1)
    if normalize:
        tensor = tensor.clone()

        def norm_ip(img, low, high):
            img.clamp_(min=low, max=high)
            img.sub_(low).div_(max(high - low, 1e-5))

        def norm_range(t, value_range):
            if value_range is not None:
                norm_ip(t, value_range[0], value_range[1])
            else:
                norm_ip(t, float(t.min()), float(t.max()))

        if scale_each:
            for t in tensor:
                norm_range(t, value_range)
        else:
            norm_range(tensor, value_range)
    if tensor.size(0) == 1:
        return tensor.squeeze(0)
    nmaps = tensor.size(0)
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(float(nmaps) / xmaps))
    height, width = int(tensor.size(2) + padding), int(tensor.size(3) + padding)
    grid = tensor.new_full((tensor.size(1), height * ymaps + padding, width * xmaps + padding), pad_value)
    k = 0
    for y in range(ymaps):
        for x in range(xmaps):
            if k >= nmaps:
                break
            grid.narrow(1, y * height + padding, height - padding).narrow(
                2, x * width + padding, width - padding).copy_(tensor[k])
            k += 1
    return grid


# ---------------------------------------------------------------------------------- make_grid
@pytest.mark.parametrize("b,c,h,w,nrow,padding", [
    (5, 3, 4, 6, 2, 3), (8, 3, 5, 5, 8, 2), (9, 1, 3, 2, 4, 0), (3, 3, 7, 4, 8, 1), (16, 3, 2, 2, 5, 2)])
def test_make_grid_places_each_image_at_torchvisions_offset(b, c, h, w, nrow, padding):
    grid = make_grid(constant_batch(b, c, h, w), nrow=nrow, padding=padding, pad_value=-1.0)
    xmaps = min(nrow, b)
    ymaps = math.ceil(b / xmaps)
    assert grid.shape == (3, ymaps * (h + padding) + padding, xmaps * (w + padding) + padding)
    assert grid.dtype == np.float32
    covered = np.zeros(grid.shape[1:], bool)
    for k in range(b):
        top = (k // xmaps) * (h + padding) + padding
        left = (k % xmaps) * (w + padding) + padding
        np.testing.assert_array_equal(grid[:, top:top + h, left:left + w], k + 1.0)
        covered[top:top + h, left:left + w] = True
    assert (grid[:, ~covered] == -1.0).all()            # everything else is padding
    assert (~covered).sum() == grid.shape[1] * grid.shape[2] - b * h * w


def test_make_grid_repeats_one_channel_to_three():
    batch = np.random.default_rng(0).random((4, 1, 3, 3)).astype(np.float32)
    grid = make_grid(batch, nrow=2)
    assert grid.shape == (3, 2 * 5 + 2, 2 * 5 + 2)
    np.testing.assert_array_equal(grid[0], grid[1])
    np.testing.assert_array_equal(grid[0], grid[2])
    np.testing.assert_array_equal(grid[0, 2:5, 7:10], batch[1, 0])


def test_make_grid_with_more_columns_than_images_makes_one_row():
    grid = make_grid(constant_batch(3, 3, 4, 4), nrow=10, padding=2)
    assert grid.shape == (3, 4 + 4, 3 * 6 + 2)


def test_make_grid_of_a_list_equals_the_stacked_batch():
    batch = constant_batch(5, 3, 2, 3)
    np.testing.assert_array_equal(make_grid(list(batch), nrow=3), make_grid(batch, nrow=3))
    tensors = [minigan.tensor(im) for im in batch]
    np.testing.assert_array_equal(make_grid(tensors, nrow=3).numpy(), make_grid(batch, nrow=3))


def test_make_grid_of_single_images_is_the_image_unpadded_in_rgb():
    img = np.arange(6, dtype=np.float32).reshape(2, 3)
    for single in (img, img[None], img[None, None]):   # (H,W), (1,H,W), (1,1,H,W)
        grid = make_grid(single, padding=5)
        assert grid.shape == (3, 2, 3)
        np.testing.assert_array_equal(grid, np.stack([img] * 3))
    rgb = np.random.default_rng(1).random((3, 4, 5)).astype(np.float32)
    np.testing.assert_array_equal(make_grid(rgb), rgb)


def test_make_grid_normalize_with_value_range_clamps_then_scales():
    batch = np.array([-1.0, 0.0, 0.5, 2.0, 3.0, 4.0], np.float32).reshape(2, 3, 1, 1)
    grid = make_grid(batch, padding=0, normalize=True, value_range=(0.0, 2.0))
    # (x clamped to 0..2 - 0) / 2
    np.testing.assert_allclose(grid[:, 0, 0], [0.0, 0.0, 0.25])
    np.testing.assert_allclose(grid[:, 0, 1], [1.0, 1.0, 1.0])
    assert batch.min() == -1.0                           # the input is left alone


def test_make_grid_normalize_over_the_batch_or_each_image():
    batch = np.array([[0.0, 1.0], [2.0, 4.0]], np.float32).reshape(2, 1, 1, 2)
    whole = make_grid(batch, padding=0, normalize=True)
    np.testing.assert_allclose(whole[0, 0], [0.0, 0.25, 0.5, 1.0])       # (x - 0) / 4
    each = make_grid(batch, padding=0, normalize=True, scale_each=True)
    np.testing.assert_allclose(each[0, 0], [0.0, 1.0, 0.0, 1.0])         # (x - lo) / (hi - lo)
    flat = make_grid(np.full((2, 1, 1, 1), 3.0, np.float32), padding=0, normalize=True)
    np.testing.assert_array_equal(flat, 0.0)            # hi == lo: divided by 1e-5, not 0
    with pytest.raises(TypeError, match="value_range"):
        make_grid(batch, normalize=True, value_range=0.5)


def test_make_grid_returns_what_it_was_given():
    batch = constant_batch(3, 3, 2, 2).astype(np.float64)
    assert isinstance(make_grid(batch), np.ndarray) and make_grid(batch).dtype == np.float32
    t = minigan.tensor(batch, requires_grad=True)         # a live graph is fine: drawn detached
    grid = make_grid(t, nrow=2)
    assert isinstance(grid, minigan.Tensor) and grid.dtype == minigan.float64
    assert not grid.requires_grad and grid.device == t.device
    np.testing.assert_array_equal(grid.numpy(), make_grid(batch, nrow=2))


@pytest.mark.parametrize("shape,kwargs", [
    ((7, 3, 5, 4), dict(nrow=3, padding=1, pad_value=0.3)),
    ((6, 1, 4, 4), dict(nrow=4, normalize=True)),
    ((5, 3, 3, 3), dict(normalize=True, scale_each=True, padding=3)),
    ((4, 3, 2, 6), dict(normalize=True, value_range=(0.2, 0.7), scale_each=True)),
    ((1, 3, 3, 3), dict(padding=4)),
    ((3, 5, 5), dict()), ((1, 6, 6), dict(normalize=True)), ((6, 6), dict()),
])
def test_make_grid_matches_the_torchvision_source_run_on_torch(shape, kwargs):
    torch = pytest.importorskip("torch")
    x = (np.random.default_rng(2).random(shape) * 4 - 1).astype(np.float32)
    expected = torchvision_make_grid(torch.from_numpy(x.copy()), **kwargs).numpy()
    got = make_grid(x, **kwargs)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
    if len(shape) == 4:                                   # list input too
        ref_list = torchvision_make_grid([torch.from_numpy(im.copy()) for im in x], **kwargs)
        np.testing.assert_allclose(make_grid(list(x), **kwargs), ref_list.numpy(), rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------------------------- save_image
def test_save_image_writes_a_png_with_torchvisions_rounding(tmp_path):
    batch = np.zeros((2, 3, 2, 2), np.float32)
    batch[0] = 0.5                                        # 0.5*255 + 0.5 = 128 -> 128
    batch[1, 0], batch[1, 1], batch[1, 2] = 1.0, 0.2, -0.3  # 255, 51.5 -> 51, clamped -> 0
    path = tmp_path / "grid.png"
    save_image(minigan.tensor(batch), path, pad_value=1.0)
    im = Image.open(path)
    assert im.format == "PNG" and im.mode == "RGB" and im.size == (2 * 4 + 2, 2 + 4)  # (W, H)
    px = np.asarray(im)
    np.testing.assert_array_equal(px[2:4, 2:4], 128)
    np.testing.assert_array_equal(px[2:4, 6:8], np.broadcast_to([255, 51, 0], (2, 2, 3)))
    assert (px[0:2] == 255).all() and (px[:, 4:6] == 255).all()   # pad_value 1.0 -> 255


def test_to_uint8_image_matches_torch_rounding_and_repeats_grey():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(3).uniform(-0.2, 1.2, (3, 9, 7)).astype(np.float32)
    ref = torch.from_numpy(x).mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to(torch.uint8).numpy()
    np.testing.assert_array_equal(to_uint8_image(x), ref)
    grey = to_uint8_image(x[:1])
    assert grey.shape == (9, 7, 3) and grey.dtype == np.uint8
    np.testing.assert_array_equal(grey[..., 0], grey[..., 2])
    assert to_uint8_image(x[0]).shape == (9, 7, 3)


# ---------------------------------------------------------------------------------- loss plots
@pytest.mark.parametrize("style,ylim_top,yticks", [("mse", 1.0, [0, 0.25, 0.5]),
                                                   ("bce", 5.0, [0, 0.25, 0.5, 1.0, 5.0])])
def test_plot_progress_has_the_books_axes(tmp_path, style, ylim_top, yticks):
    losses = list(np.random.default_rng(4).random(300) * 0.6)
    path = tmp_path / f"{style}.png"
    fig = plot_progress(losses, path, style=style, title="D")
    ax = fig.axes[0]
    assert tuple(fig.get_size_inches()) == (16, 8)
    assert Image.open(path).size == (1600, 800)
    np.testing.assert_allclose(ax.get_yticks(), yticks)
    assert ax.get_ylim()[0] == 0
    assert ax.get_ylim()[1] == pytest.approx(ylim_top)   # BCE: the 5.0 tick widens the axis
    (line,) = ax.lines
    assert line.get_alpha() == 0.1 and line.get_marker() == "."
    np.testing.assert_array_equal(line.get_xdata(), np.arange(300))
    np.testing.assert_allclose(line.get_ydata(), losses)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["loss"]
    assert ax.get_xgridlines()[0].get_visible() and ax.get_ygridlines()[0].get_visible()
    assert ax.get_title() == "D"


def test_plot_progress_bce_upper_limit_follows_the_data():
    ax = plot_progress(np.array([0.1, 9.0, 0.3]), style="bce").axes[0]
    assert ax.get_ylim()[0] == 0 and ax.get_ylim()[1] > 9.0


def test_plot_progress_looks_like_the_pandas_plot_of_the_notebooks():
    pd = pytest.importorskip("pandas")
    losses = list(np.random.default_rng(5).random(50) * 3)
    ref = pd.DataFrame(losses, columns=["loss"]).plot(ylim=(0), figsize=(16, 8), alpha=0.1, marker=".",
                                                      grid=True, yticks=(0, 0.25, 0.5, 1.0, 5.0))
    ax = plot_progress(losses, style="bce").axes[0]
    try:
        np.testing.assert_allclose(ax.get_ylim(), ref.get_ylim())
        np.testing.assert_allclose(ax.get_xlim(), ref.get_xlim())
        np.testing.assert_allclose(ax.get_yticks(), ref.get_yticks())
        assert ax.lines[0].get_color() == ref.lines[0].get_color()
    finally:
        import matplotlib.pyplot as plt
        plt.close(ref.figure)


def test_plot_progress_of_nothing_draws_a_note(tmp_path):
    fig = plot_progress([], tmp_path / "empty.png", style="mse")
    assert "no losses" in fig.axes[0].texts[0].get_text()
    assert (tmp_path / "empty.png").stat().st_size > 0
    with pytest.raises(ValueError, match="style"):
        plot_progress([1.0], style="l1")


def test_plot_gan_progress_stacks_d_over_g(tmp_path):
    path = tmp_path / "gan.png"
    fig = plot_gan_progress([0.7] * 20, [0.69] * 10, path, style="bce", title="1 epoch")
    d_ax, g_ax = fig.axes
    assert "discriminator" in d_ax.get_title() and g_ax.get_title() == "generator"
    assert len(d_ax.lines[0].get_xdata()) == 20 and len(g_ax.lines[0].get_xdata()) == 10
    assert d_ax.get_position().y0 > g_ax.get_position().y0
    assert Image.open(path).size == (1600, 1600)


# ---------------------------------------------------------------------------------- images
def shown_arrays(fig):
    return [ax.images[0].get_array() for ax in fig.axes if ax.images]


@pytest.mark.parametrize("make,shape", [
    (lambda r: [r.random((28, 28)) for _ in range(6)], (28, 28)),                # (H,W) list
    (lambda r: r.random((6, 784)), (28, 28)),                                    # batch of flat vectors
    (lambda r: [minigan.rand(784) for _ in range(6)], (28, 28)),                 # §4.08 G outputs
    (lambda r: minigan.rand(6, 784, requires_grad=True), (28, 28)),              # a live Tensor batch
    (lambda r: r.random((6, 28, 28)), (28, 28)),                                 # (N,H,W) batch
    (lambda r: [r.random((218, 178, 3)) for _ in range(6)], (218, 178, 3)),      # §4.12 HWC
    (lambda r: [minigan.rand(1, 3, 16, 16) for _ in range(6)], (16, 16, 3)),     # §4.14 NCHW, N=1
    (lambda r: r.random((6, 3, 16, 16)), (16, 16, 3)),                           # NCHW batch
    (lambda r: [r.random((3, 16, 16)) for _ in range(6)], (16, 16, 3)),          # CHW list
    (lambda r: r.random((6, 1, 12, 12)), (12, 12)),                              # one-channel NCHW
])
def test_plot_images_takes_every_layout_the_notebooks_produce(make, shape):
    fig = plot_images(make(np.random.default_rng(6)))
    assert tuple(fig.get_size_inches()) == (16, 8) and len(fig.axes) == 6
    arrays = shown_arrays(fig)
    assert len(arrays) == 6 and all(a.shape == shape for a in arrays)
    im = fig.axes[0].images[0]
    assert im.get_interpolation() == "none" and im.get_cmap().name == "Blues"


def test_plot_images_shows_pixels_unchanged_row_by_row(tmp_path):
    imgs = [np.full((4, 4), float(k)) for k in range(5)]
    fig = plot_images(imgs, tmp_path / "imgs.png", rows=3, cols=4, titles=list("abcde"))
    assert len(fig.axes) == 12 and Image.open(tmp_path / "imgs.png").size == (1600, 800)
    for k, ax in enumerate(fig.axes[:5]):
        np.testing.assert_array_equal(ax.images[0].get_array(), k)
        assert ax.get_title() == "abcde"[k]
    assert all(not ax.axison for ax in fig.axes[5:])     # spare cells blank
    hwc = np.random.default_rng(7).random((3, 5, 5))     # a single CHW colour image
    np.testing.assert_allclose(shown_arrays(plot_images(hwc, rows=1, cols=1))[0], hwc.transpose(1, 2, 0))
    with pytest.raises(ValueError, match="square"):
        plot_images([np.zeros(10)])


def test_plot_pattern_snapshots_is_a_4x10_picture(tmp_path):
    snaps = [minigan.tensor([0.4 + k / 20, 0.5 - k / 20, 0.3 + k / 20, 0.55 - k / 20]) for k in range(10)]
    fig = plot_pattern_snapshots(snaps, tmp_path / "snaps.png")
    (im,) = fig.axes[0].images
    arr = np.asarray(im.get_array())
    assert arr.shape == (4, 10)
    np.testing.assert_allclose(arr[:, 3], snaps[3].numpy(), rtol=1e-6)   # column k is snapshot k
    assert im.get_cmap().name == "Blues" and im.get_interpolation() == "none"
    assert tuple(fig.get_size_inches()) == (16, 8)
    assert (tmp_path / "snaps.png").exists()


# ---------------------------------------------------------------------------------- gif
def test_save_gif_writes_every_frame(tmp_path):
    frames = [np.full((8, 10, 3), 40 * k, np.uint8) for k in range(4)]
    path = save_gif(frames, tmp_path / "a.gif", duration_ms=120)
    with Image.open(path) as im:
        assert im.format == "GIF" and im.n_frames == 4 and im.size == (10, 8)
        assert im.info["duration"] == 120 and im.info["loop"] == 0


def test_save_gif_takes_make_grid_grids(tmp_path):
    grids = [make_grid(minigan.full((4, 1, 5, 5), k / 3)) for k in range(3)]
    with Image.open(save_gif(grids, tmp_path / "g.gif")) as im:
        assert im.n_frames == 3 and im.size == grids[0].shape[1:][::-1]


def test_save_gif_refuses_nothing_and_mixed_sizes(tmp_path):
    with pytest.raises(ValueError, match="empty.gif"):
        save_gif([], tmp_path / "empty.gif")
    frames = [np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.uint8), np.zeros((6, 9, 3), np.uint8)]
    with pytest.raises(ValueError, match=r"frame 2 is 6x9 .* frame 0 is 8x8"):
        save_gif(frames, tmp_path / "mixed.gif")


# ---------------------------------------------------------------------------------- import cost
def test_import_minigan_loads_neither_matplotlib_nor_pillow():
    code = "import minigan, sys; assert 'matplotlib' not in sys.modules and 'PIL' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
