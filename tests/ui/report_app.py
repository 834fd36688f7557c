"""The sidebar's picker and report download alone, for AppTest (see picker_app.py for why not the router)."""
from ui.picker import model_picker
from ui.report_download import report_download

model_picker()
report_download()
