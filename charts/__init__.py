"""Chart builders shared by the pages and the HTML report: data in, an Altair chart out.

Large data never goes to the browser whole: callers downsample first (see analyses.matrices),
and every builder keeps its row count under MAX_ROWS.
"""
import altair as alt

# A chart as wide as the page whose height is its plot's own, with title, legend and axes added around it. A chart
# stretched by Streamlit otherwise gets plain "fit": all of those squeezed into `height`, so a 6-layer map drew
# 60 px of rows and a 12-head dendrogram a line.
FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")
MAX_ROWS = 5000  # Altair's default limit; we stay under it rather than lifting it
