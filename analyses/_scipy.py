"""scipy's statistics, clustering and distance modules, imported in one place and one order.

Streamlit runs each session's page in a thread of its own, and these scipy subpackages import one
another (scipy.stats imports scipy.spatial.distance; scipy.cluster.hierarchy imports it too). Two
sessions opening pages at once could each hold half of such a chain, and one then saw a half-built
module: "cannot import name 'euclidean' from partially initialized module 'scipy.spatial.distance'"
(tests/browser/test_load.py, 8 sessions). Every analyses module takes these from here, so their first
import is one step behind this module's own import lock: a second thread waits for all of it.
One module that took scipy.cluster.hierarchy around this one (analyses/experts.py) was enough to bring it back:
Python's deadlock avoidance handed a session a half-built module ("cannot import name 'special' from
'analyses._scipy'"). tests/test_dependencies.py now keeps every scipy import here, but scipy.linalg's, which
imports none of these (checked: scipy.linalg loads no scipy.special, stats, spatial, cluster or sparse) and is
imported directly where only it is needed (the report's spectral worker); it comes first here all the same.
"""
from scipy import linalg  # noqa: F401 - whole before stats, which imports it
from scipy import special, stats  # stats first: it pulls in scipy.spatial.distance
from scipy.cluster import hierarchy
from scipy.spatial import distance

__all__ = ["distance", "hierarchy", "linalg", "special", "stats"]
