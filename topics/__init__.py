"""What the pages and the report compute, one module per topic: the one home of model-level work.

Every topic module has
    compute(model, **options) -> a dataclass   numbers only: no Streamlit, no charts, picklable
    reading(result) -> str                     the plain-language reading (markdown), from those numbers
and may have finer entry points that a page needs (one matrix, one layer), written the same way.
Callers cache the results: pages through `ui.cache.cached` (keyed by `model.cache_key` and the
options), the report through `reporting.cache`. A topic imports adapters and analyses, never
pages, charts, reporting or Streamlit; heavy topics take an `executor` (topics.executor) that is
not an option: it changes where the work runs, not the result.

    from topics import architecture
    result = architecture.compute(open_model("gpt2"))
    print(architecture.reading(result))
"""
