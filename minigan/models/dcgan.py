"""The DCGAN of Radford, Metz and Chintala (2015), as PyTorch's ``examples/dcgan/main.py`` builds it.

G grows a (nz, 1, 1) noise vector into an image with transposed convolutions, D shrinks the
image back to one probability with strided convolutions - no pooling, no fully connected
layers, BatchNorm everywhere but G's output and D's input, ReLU in G and LeakyReLU(0.2) in
D, Tanh at G's end and Sigmoid at D's. At the published 64x64 pixels (``ngf = ndf = 64``)::

    G: ConvT(nz, 8ngf, 4, 1, 0) BN ReLU   ->  512 x 4 x 4
       ConvT(8ngf, 4ngf, 4, 2, 1) BN ReLU ->  256 x 8 x 8
       ConvT(4ngf, 2ngf, 4, 2, 1) BN ReLU ->  128 x 16 x 16
       ConvT(2ngf, ngf, 4, 2, 1) BN ReLU  ->   64 x 32 x 32
       ConvT(ngf, nc, 4, 2, 1) Tanh       ->   nc x 64 x 64
    D: Conv(nc, ndf, 4, 2, 1) LeakyReLU(0.2), three Conv(4, 2, 1) BN LeakyReLU(0.2) steps to
       2ndf, 4ndf, 8ndf (4 x 4), Conv(8ndf, 1, 4, 1, 0) Sigmoid

Every convolution has ``bias=False`` (a BatchNorm follows, whose shift does the job), and
the example's ``weights_init`` is applied with ``Module.apply``: convolution weights
N(0, 0.02), BatchNorm weights N(1, 0.02), BatchNorm biases 0. BCE, Adam 2e-4 with betas
(0.5, 0.999), batches of 64, nz = 100.

``--image-size 32`` drops one stride-2 stage (G starts at 4ngf, D ends at 4ndf) and is the
default here: a 64-pixel step costs about four times a 32-pixel one, too slow on a 2-core
CPU for the 15-minute budget of the models beyond the book. That departure is recorded in
every run's config.json; ``--image-size 64`` is the published network.

Data: MNIST (any ``--data`` that :func:`minigan.data.load_mnist` reads; nc = 1), each batch
resized from 28x28 to the image size with bilinear interpolation, as the example's
``transforms.Resize`` does - per batch rather than once at loading, because the resized
copy of full MNIST at 64x64 would take 1 GB, while resizing a batch costs far less than its
step. Or faces (``--data faces.h5``, the book's CelebA HDF5 layout read by
:class:`minigan.data.CelebADataset`; nc = 3): the largest centre square (178x178) of each
aligned photograph resized to the image size - the example's ``Resize`` then
``CenterCrop`` in the other order, which cuts the same square. Downsizing first averages
``k x k`` blocks (``k = side // size``) and then interpolates: a box prefilter against the
aliasing of plain bilinear shrinking, where the example's PIL resize widens its filter.

The loop is the book's three steps (:func:`minigan.training.gan_step`): D on a real batch,
D on a fake batch (each its own Adam step), then G through D with a fresh seed. The example
sums D's two losses into one step and reuses the first fake for G's step; the book's order
is the one every GAN in minigan shares. The judge of :mod:`minigan.metrics` reads 28x28
digits, so generated MNIST images come back at 28x28 (:meth:`Dcgan.to_images`) - for the
pictures, ``minigan sample`` and the judge alike.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from functools import partial

import numpy as np

import minigan

from ..experiment import GanModel

__all__ = ["DCGAN", "Dcgan", "generator", "discriminator", "weights_init", "resize", "IMAGE_SIZES"]

NZ = 100          # length of G's noise vector
NGF = 64          # G's feature maps at its last hidden stage
NDF = 64          # D's feature maps at its first stage
IMAGE_SIZES = (32, 64)
DEFAULT_IMAGE_SIZE = 32
MNIST_SIDE = 28
FACE_SIDE = 178   # the largest centre square of an aligned CelebA photograph (218 x 178)
FACE_SUFFIXES = (".h5", ".hdf5", ".hdf")


def _stages(image_size: int) -> int:
    """The stride-2 stages between the 4x4 core and the image: 4 at 64 pixels, 3 at 32."""
    if image_size not in IMAGE_SIZES:
        raise ValueError(f"dcgan: image size must be one of {', '.join(map(str, IMAGE_SIZES))} "
                         f"(64 as published, 32 with one stride-2 stage fewer), got {image_size}")
    return {32: 3, 64: 4}[image_size]


def weights_init(m, torch=minigan):
    """The example's ``weights_init``, for ``module.apply``: conv weights N(0, 0.02),
    BatchNorm weights N(1, 0.02) and biases 0 (matched by class name, as the example does)."""
    name = type(m).__name__
    if "Conv" in name:
        torch.nn.init.normal_(m.weight, 0.0, 0.02)
    elif "BatchNorm" in name:
        torch.nn.init.normal_(m.weight, 1.0, 0.02)
        torch.nn.init.constant_(m.bias, 0)


def generator(torch=minigan, image_size: int = DEFAULT_IMAGE_SIZE, nc: int = 1, nz: int = NZ,
              ngf: int = NGF):
    """G: (B, nz, 1, 1) noise -> (B, nc, image_size, image_size) in [-1, 1], initialised by
    :func:`weights_init`; 3,574,656 parameters at 64 pixels for nc = 1 (3,576,704 for nc = 3),
    1,066,880 at 32 (1,068,928)."""
    nn = torch.nn
    width = ngf * 2 ** (_stages(image_size) - 1)        # 8ngf at 64 pixels, 4ngf at 32
    layers = [nn.ConvTranspose2d(nz, width, 4, 1, 0, bias=False), nn.BatchNorm2d(width), nn.ReLU(True)]
    while width > ngf:
        layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                   nn.BatchNorm2d(width // 2), nn.ReLU(True)]
        width //= 2
    layers += [nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh()]
    G = nn.Sequential(*layers)
    G.apply(partial(weights_init, torch=torch))
    return G


def discriminator(torch=minigan, image_size: int = DEFAULT_IMAGE_SIZE, nc: int = 1, ndf: int = NDF):
    """D: (B, nc, image_size, image_size) -> (B, 1) probabilities, initialised by
    :func:`weights_init`; 2,763,520 parameters at 64 pixels for nc = 1 (2,765,568 for nc = 3),
    661,248 at 32 (663,296).

    The example ends with ``output.view(-1, 1).squeeze(1)``, a (B,) vector; here a Flatten
    gives (B, 1), the shape of the targets every batched GAN in minigan uses.
    """
    nn = torch.nn
    stages = _stages(image_size)
    layers = [nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
    width = ndf
    for _ in range(stages - 1):
        layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width * 2),
                   nn.LeakyReLU(0.2, inplace=True)]
        width *= 2
    layers += [nn.Conv2d(width, 1, 4, 1, 0, bias=False), nn.Sigmoid(), nn.Flatten()]
    D = nn.Sequential(*layers)
    D.apply(partial(weights_init, torch=torch))
    return D


def parameter_counts(image_size: int, nc: int, nz: int = NZ, ngf: int = NGF, ndf: int = NDF):
    """``(D, G)`` parameter counts from the layer list (4x4 kernels, no conv biases, BatchNorm
    weight and bias per channel), without building - building draws from the RNG."""
    stages = _stages(image_size)
    g_widths = [ngf * 2 ** i for i in reversed(range(stages))]       # 4ngf, 2ngf, ngf at 32
    g = 16 * nz * g_widths[0] + 16 * ngf * nc + sum(2 * w for w in g_widths)
    g += sum(16 * a * b for a, b in zip(g_widths, g_widths[1:]))
    d_widths = [ndf * 2 ** i for i in range(stages)]                   # ndf, 2ndf, 4ndf at 32
    d = 16 * nc * ndf + 16 * d_widths[-1] + sum(2 * w for w in d_widths[1:])
    d += sum(16 * a * b for a, b in zip(d_widths, d_widths[1:]))
    return d, g


def noise(nz: int = NZ):
    """G's input as the example draws it: ``torch.randn(B, nz, 1, 1)`` ((1, nz, 1, 1) for one)."""
    def seed(torch, batch=None, device=None):
        return torch.randn(1 if batch is None else batch, nz, 1, 1, device=device)
    seed.size = nz
    return seed


def uniform_image(torch, device=None, shape=(1, 1, DEFAULT_IMAGE_SIZE, DEFAULT_IMAGE_SIZE)):
    """The D test's uniform random image, (1, nc, size, size) in [0, 1] (scaled by the model)."""
    return torch.rand(*shape, device=device)


def resize(images, size: int):
    """Square (B, C, H, H) images as (B, C, size, size): bilinear (``align_corners=False``),
    after averaging ``k x k`` blocks when shrinking by ``k = H // size >= 2`` (a box
    prefilter, so a 178-pixel face or a 64-pixel digit does not alias on the way down)."""
    F = minigan.nn.functional
    side = images.shape[-1]
    if side == size:
        return images
    if side // size >= 2:
        images = F.avg_pool2d(images, side // size)
        if images.shape[-1] == size:
            return images
    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)


def is_faces(data) -> bool:
    """Whether a ``--data`` value names an HDF5 file of faces (the book's CelebA layout)."""
    return data is not None and os.fspath(data).lower().endswith(FACE_SUFFIXES)


def _shaped(image_size: int, nc: int) -> dict:
    """The fields of :class:`Dcgan` that follow from the image size and channel count."""
    departures = () if image_size == 64 else (
        f"image size {image_size} (published: 64): one stride-2 stage fewer, G from "
        f"{NGF * 2 ** (_stages(image_size) - 1)} maps, D to {NDF * 2 ** (_stages(image_size) - 1)}",)
    return dict(image_size=image_size, nc=nc, image_shape=(nc, image_size, image_size),
                discriminator=partial(discriminator, image_size=image_size, nc=nc),
                generator=partial(generator, image_size=image_size, nc=nc),
                noise=partial(uniform_image, shape=(1, nc, image_size, image_size)),
                parameters=parameter_counts(image_size, nc), data="celeba" if nc == 3 else "mnist",
                notes=departures)


@dataclass(frozen=True)
class Dcgan(GanModel):
    """The DCGAN at one image size (``image_size``, 32 or 64) and channel count (``nc``: 1 for
    MNIST, 3 for faces). :meth:`configure` gives the copy a run needs; real batches are
    resized to the image size (:meth:`real_batch`) and generated digits back to 28x28
    (:meth:`to_images`)."""
    image_size: int = DEFAULT_IMAGE_SIZE
    nc: int = 1

    def configure(self, image_size: int | None = None, data=None, channels: int | None = None) -> "Dcgan":
        """This model at ``image_size`` (None: unchanged), for the ``--data`` value ``data``
        (an HDF5 file of faces gives nc = 3) or for ``channels`` (a saved run's config)."""
        size = self.image_size if image_size is None else int(image_size)
        nc = channels if channels is not None else (3 if is_faces(data) else 1)
        if nc not in (1, 3):
            raise ValueError(f"dcgan: images have 1 channel (MNIST) or 3 (faces), got {nc}")
        if (size, nc) == (self.image_size, self.nc):
            return self
        return dataclasses.replace(self, **_shaped(size, nc))

    def targets(self, torch, batch=None, device=None, dtype=None):
        """(B, 1) targets, and (1, 1) for one sample: D's output is always (B, 1)."""
        return super().targets(torch, 1 if batch is None else batch, device, dtype)

    def _pixels(self, images):
        """A (B, ...) batch in [0, 1] as (B, nc, image_size, image_size) in [-1, 1]."""
        if self.nc == 1:
            images = images.reshape(images.shape[0], 1, MNIST_SIDE, MNIST_SIDE)
        with minigan.no_grad():
            return self.scale(resize(images, self.image_size))

    def _faces(self, hwc):
        """(B, 218, 178, 3) photographs in [0, 1] (numpy) -> their centre squares, (B, 3, 178, 178)."""
        from ..data import crop_centre
        crops = [crop_centre(img, FACE_SIDE, FACE_SIDE).transpose(2, 0, 1) for img in hwc]
        return minigan.tensor(np.ascontiguousarray(np.stack(crops), dtype=np.float32))

    def real(self, item):
        """One real sample as a batch of one: (1, nc, size, size) in [-1, 1]."""
        if self.nc == 3:
            return self._pixels(self._faces(np.asarray(item.numpy())[np.newaxis]))
        image = item[1] if isinstance(item, tuple) else item     # MNIST items: (label, image, target)
        return self._pixels(image.reshape(1, -1))

    def real_batch(self, dataset, index):
        """Real samples ``index`` as (B, nc, size, size) in [-1, 1]."""
        if self.nc == 3:
            if not hasattr(dataset, "raw"):
                raise ValueError(f"{self.name}: faces (nc = 3) come from a CelebA HDF5 file; "
                                 f"got {type(dataset).__name__}")
            photos = np.stack([dataset.raw(int(i)) for i in np.asarray(index).reshape(-1)])
            return self._pixels(self._faces(photos.astype(np.float32) / 255.0))
        if not hasattr(dataset, "batch"):
            raise ValueError(f"{self.name}: MNIST batches need a dataset with batch(); "
                             f"got {type(dataset).__name__}")
        return self._pixels(dataset.batch(index)[1])

    def to_images(self, out):
        """G's (N, nc, size, size) output as [0, 1] pictures; digits resized back to 28x28, the
        data's own size and the judge's."""
        images = super().to_images(out)
        if self.nc != 1 or self.image_size == MNIST_SIDE:
            return images
        with minigan.no_grad():
            small = resize(minigan.tensor(images), MNIST_SIDE).numpy()
        return np.clip(np.asarray(small, dtype=np.float32), 0.0, 1.0)


DCGAN = Dcgan(
    name="dcgan", section="beyond the book: the DCGAN of Radford et al.",
    title="DCGAN (strided conv D, transposed-conv G, BatchNorm, BCE, Adam 2e-4, batch 64)",
    reference="PyTorch's examples/dcgan/main.py (Radford, Metz and Chintala 2015)",
    loss=lambda torch: torch.nn.BCELoss(),
    optimiser=lambda torch, params: torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999)),
    # 11 epochs of the 4,000 bundled digits (693 steps), 32 pixels, `minigan train dcgan`:
    # seed 0: 10 of 10 classes, largest 18.8 %, Frechet distance 101, 129 s of training (after
    # the channels-last Winograd plan, which changes the rounding; 9 classes, 17.6 %, Frechet
    # 118, 202 s before); seed 1 (before): 10 classes, largest 16.3 %, Frechet 92, 198 s - on the
    # 2-core machine (under load 4-6 from other jobs a seed-0 run took 2,619 s). A run judged at
    # every epoch (instrumented, so not bit-identical): 5 classes at epoch 5, 9 at epochs 8-9
    # (largest 22-24 %), 10 at epochs 10-12 (20.1, 16.8, 18.5 %).
    seed=noise(NZ), book_epochs=None, default_epochs=11, batch_size=64,
    book_result="not a book model", **_shaped(DEFAULT_IMAGE_SIZE, 1))
