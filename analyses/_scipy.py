"""scipy's statistics, clustering and distance modules, imported in one place and one order.

Streamlit runs each session's page in a thread of its own, and these scipy subpackages import one
another (scipy.stats imports scipy.spatial.distance; scipy.cluster.hierarchy imports it too). Two
sessions opening pages at once could each hold half of such a chain, and one then saw a half-built
module: "cannot import name 'euclidean' from partially initialized module 'scipy.spatial.distance'"
(tests/browser/test_load.py, 8 sessions). Every analyses module takes these from here, so their first
import is one step behind this module's own import lock: a second thread waits for all of it.
That was not enough while a thread could hold scipy.linalg half-imported (analyses/pca.py and spectral.py
import it directly, so the report's spectral worker imports no more than it) as another, inside this module,
needed it for scipy.stats: Python's deadlock avoidance then hands one of them a half-built module ("cannot
import name 'special' from 'analyses._scipy'", seen once in 8 sessions). So linalg is imported here first, and
the router (streamlit_app.py) imports this module before anything else: every session waits there, holding no
other import lock, until all of scipy the pages use is whole.
"""
from scipy import linalg  # noqa: F401 - first, whole, before stats needs it (see above)
from scipy import special, stats  # stats first: it pulls in scipy.spatial.distance
from scipy.cluster import hierarchy
from scipy.spatial import distance

__all__ = ["distance", "hierarchy", "linalg", "special", "stats"]
