"""Every adapter module declares a family and registers it; model types do not collide."""
import importlib
import inspect

import adapters
from adapters.family import Family
from adapters.registry import BY_MODEL_TYPE, FAMILIES


def test_every_adapter_module_is_registered():
    for name in adapters.ADAPTER_MODULES:
        module = importlib.import_module(f"adapters.{name}")
        declared = [c for _, c in inspect.getmembers(module, inspect.isclass)
                    if issubclass(c, Family) and c is not Family and c.__module__ == module.__name__]
        assert declared, f"adapters/{name}.py declares no Family"
        for family in declared:
            assert FAMILIES.get(family.arch) is family, f"{family.__name__} is not registered"
            for model_type in family.model_types:
                assert BY_MODEL_TYPE[model_type] is family


def test_required_families_are_there():
    assert {"gpt2", "bert", "llama", "mistral", "qwen2", "qwen3", "gemma", "generic"} <= set(FAMILIES)
