"""scipy's statistics, clustering and distance modules, imported in one place and one order.

Streamlit runs each session's page in a thread of its own, and these scipy subpackages import one
another (scipy.stats imports scipy.spatial.distance; scipy.cluster.hierarchy imports it too). Two
sessions opening pages at once could each hold half of such a chain, and one then saw a half-built
module: "cannot import name 'euclidean' from partially initialized module 'scipy.spatial.distance'"
(tests/browser/test_load.py, 8 sessions). Every analyses module takes these from here, so their first
import is one step behind this module's own import lock: a second thread waits for all of it.
scipy.linalg imports none of them and is imported directly (the report's spectral worker needs only it).
"""
from scipy import special, stats  # stats first: it pulls in scipy.spatial.distance
from scipy.cluster import hierarchy
from scipy.spatial import distance

__all__ = ["distance", "hierarchy", "special", "stats"]
