"""charts.pca: many samples and many components stay under Altair's row limit, and say how they were thinned."""
import numpy as np
import pytest

from analyses.pca import LayerPCA, components_for
from charts import pca as charts


def _fake(layer, n_samples, n_components):
    """A LayerPCA with a made-up spectrum: the chart tests need shapes, not an eigen-decomposition."""
    ratio = np.full(n_components, 1 / n_components)
    return LayerPCA(layer, n_samples, n_components, ratio, np.cumsum(ratio), components_for(np.cumsum(ratio)),
                    0.9, np.random.default_rng(layer).normal(size=(n_samples, 2)), None)


def test_charts_downsample_many_rows():
    spec = charts.scatter([_fake(l, 3000, 40) for l in range(4)], "rows").to_dict()
    (rows,) = spec["datasets"].values()
    assert len(rows) < 5000 and "of 12,000 rows, evenly spaced" in str(spec["title"])
    spec = charts.cumulative([_fake(l, 10, 3000) for l in range(3)]).to_dict()
    curve = max(spec["datasets"].values(), key=len)
    assert len(curve) < 5000 and "log-spaced" in str(spec["title"])
    assert curve[-1]["cumulative"] == pytest.approx(1.0)  # the last component is always kept
    small = charts.cumulative([_fake(0, 10, 50)]).to_dict()
    assert len(max(small["datasets"].values(), key=len)) == 50 and "every component" in str(small["title"])


def test_scatter_names_each_panels_explained_variance():
    import re

    import vl_convert as vlc
    from analyses.pca import layer_pca
    rng = np.random.default_rng(0)
    planted = rng.normal(size=(200, 1)) * np.ones(10) + 0.3 * rng.normal(size=(200, 10))  # one shared direction
    one = layer_pca(3, planted)
    spec = charts.scatter([one]).to_dict()
    want = f"{one.explained_ratio[0]:.1%}"
    assert spec["spec"]["encoding"]["x"]["title"] == f"PC1 ({want} of variance)" and one.explained_ratio[0] > 0.5
    two = charts.scatter([one, layer_pca(4, rng.normal(size=(200, 10)))])
    svg = vlc.vegalite_to_svg(two.to_json())
    texts = re.findall(r"<text[^>]*>([^<]*)<", svg)
    assert f"layer 3: PC1 {want}, PC2 {one.explained_ratio[1]:.1%}" in texts
    assert "First two principal components" in texts and not any("…" in t for t in texts)
