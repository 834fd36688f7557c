"""charts.matrices.figure: the PNG view has axes and a colour bar, and its colours follow the values."""
import io

import numpy as np
from PIL import Image

from analyses.matrices import downsample
from charts import matrices as charts


def test_png_has_axes_a_colour_bar_and_the_planted_halves():
    w = np.ones((64, 128), np.float32)
    w[:, :64] = -1.0  # planted: left half negative (blue), right half positive (red)
    png = charts.figure(downsample(w, (64, 128), "maxabs"), "m", "d_model (input)", "d_mlp (output)")
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    h, width, _ = img.shape
    assert width == 880 and h == 660  # 8 x 6 inches at 110 dpi
    row = img[h // 2]
    is_blue = [p[2] > p[0] + 40 for p in row]
    is_red = [p[0] > p[2] + 40 for p in row]
    assert sum(is_blue) > 100 and sum(is_red) > 100  # each half a few hundred pixels wide
    first_blue, first_red = is_blue.index(True), is_red.index(True)
    assert first_blue < first_red < width * 0.8  # blue left of red, both in the plot, not the bar
    # the colour bar: right of the plot, a column running from red (top) through white to blue (bottom)
    bar = next(img[:, x] for x in range(width - 1, first_red, -1)
               if (img[:, x, 0] > img[:, x, 2] + 40).any() and (img[:, x, 2] > img[:, x, 0] + 40).any())
    coloured = [p for p in bar if abs(p[0] - p[2]) > 40]
    assert coloured[0][0] > coloured[0][2] and coloured[-1][2] > coloured[-1][0]
    assert any((p > 230).all() for p in bar)  # white at 0, mid-bar
