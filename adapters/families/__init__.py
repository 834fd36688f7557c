"""One module per architecture family, each mostly a table (see adapters/family.py for what it declares).

Every module in this package is imported here, and each registers its families with `@register`, so adding a
family is adding a module here (plus its place in registry.DETECTION_ORDER when its layout is its own).
"""
import importlib
import pkgutil

MODULES = [m.name for m in pkgutil.iter_modules(__path__)]
for _name in MODULES:
    importlib.import_module(f"{__name__}.{_name}")
