"""minigan.viz: the book's pictures.

* :mod:`.graph`: the computation graph of section 1.1, as DOT text and PNG;
* :mod:`.losses`: loss plots in the notebooks' pandas style (BOOK_SPEC §1.8);
* :mod:`.grid`: torchvision's ``make_grid`` / ``save_image``, rebuilt on NumPy;
* :mod:`.images`: grids of generated images, the 1010 snapshots (§1.8, §4.06, §4.14);
* :mod:`.gif`: a training GIF from image grids;
* :mod:`.attention`: where a self-attention layer looks (SAGAN).

``import minigan`` imports this package, so nothing here imports matplotlib or Pillow at
module level: each drawing function imports what it needs when first called.
"""
from .attention import plot_attention_maps
from .gif import save_gif
from .graph import graph, render_graph
from .grid import make_grid, save_image, to_uint8_image
from .images import plot_images, plot_pattern_snapshots
from .losses import plot_gan_progress, plot_progress

__all__ = ["graph", "render_graph", "plot_progress", "plot_gan_progress", "make_grid",
           "save_image", "to_uint8_image", "plot_images", "plot_pattern_snapshots", "save_gif",
           "plot_attention_maps"]
