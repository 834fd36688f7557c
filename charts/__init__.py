"""Chart builders shared by the pages and the HTML report: data in, an Altair chart out.

Large data never goes to the browser whole: callers downsample first (see analyses.matrices),
and every builder keeps its row count under MAX_ROWS.
"""
MAX_ROWS = 5000  # Altair's default limit; we stay under it rather than lifting it
