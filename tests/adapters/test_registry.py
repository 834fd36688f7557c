"""The registry as data: every family module registers, detection reads one ordered table of layouts,
and config.json's model_type is only a hint. Tensor names only here; tiny real models are in test_detection.py."""
import importlib
import inspect
import pkgutil

import pytest

import adapters
from adapters import families
from adapters.family import Family
from adapters.layout import Layout, suffixes
from adapters.registry import BY_MODEL_TYPE, DETECTION_ORDER, FALLBACK, FAMILIES, detect, register


def _declared(module) -> list[type[Family]]:
    return [c for _, c in inspect.getmembers(module, inspect.isclass)
            if issubclass(c, Family) and c is not Family and c.__module__ == module.__name__]


def test_every_family_module_is_found_and_registers_what_it_declares():
    found = [m.name for m in pkgutil.iter_modules(families.__path__)]
    assert sorted(families.MODULES) == sorted(found)
    for name in found:
        declared = _declared(importlib.import_module(f"adapters.families.{name}"))
        assert declared, f"adapters/families/{name}.py declares no Family"
        for family in declared:
            assert FAMILIES.get(family.arch) is family, f"{family.__name__} is not registered"
            for model_type in family.model_types:
                assert BY_MODEL_TYPE[model_type] is family, f"model_type {model_type!r} is claimed twice"


def test_families_live_only_in_the_families_package():
    for info in pkgutil.iter_modules(adapters.__path__):
        if not info.ispkg:
            module = importlib.import_module(f"adapters.{info.name}")
            assert not _declared(module), f"adapters/{info.name}.py declares a Family outside adapters/families/"


def test_a_model_type_or_arch_is_claimed_once():
    class Copy(FAMILIES["llama"]):  # forgot to set its own arch and model_types
        pass
    with pytest.raises(ValueError, match="claims 'llama'"):
        register(Copy)


def test_required_families_are_there():
    assert {"gpt2", "bert", "llama", "mistral", "qwen2", "qwen3", "gemma", "generic"} <= set(FAMILIES)


def test_detection_order_covers_every_family():
    """Each family is tried by layout, or shares its layout with one that is (then only model_type chooses it)."""
    assert len(set(DETECTION_ORDER)) == len(DETECTION_ORDER) and set(DETECTION_ORDER) <= set(FAMILIES)
    listed = {FAMILIES[a].layout for a in DETECTION_ORDER}
    for arch, family in FAMILIES.items():
        if arch not in DETECTION_ORDER and arch != FALLBACK:
            assert family.layout in listed, f"{arch} is never detected: add it to DETECTION_ORDER"


def _canonical(family: type[Family], prefix: str = "model.") -> list[str]:
    """The fewest names a checkpoint of this family has: its required names (layers 0 and 1) and one mark."""
    names = [prefix + p.format(l=layer) for p in (*family.layout.requires, *family.layout.marks[:1])
             for layer in (0, 1)]
    return sorted(set(names))


@pytest.mark.parametrize("arch", DETECTION_ORDER)
def test_each_family_is_detected_from_its_own_names(arch):
    """Nothing earlier in the order takes a later family's checkpoints: the order is most specific first."""
    detected = detect(None, _canonical(FAMILIES[arch]))
    assert detected.family.arch == arch and not detected.notes


LLAMA = _canonical(FAMILIES["llama"])


@pytest.mark.parametrize("model_type, arch", [("llama", "llama"), ("mistral", "mistral"), ("gemma", "gemma"),
                                              ("granite", "granite"),
                                              (None, "llama")])
def test_model_type_chooses_among_families_with_the_same_names(model_type, arch):
    detected = detect({"model_type": model_type} if model_type else None, LLAMA)
    assert detected.family.arch == arch and not detected.notes


def test_unknown_model_type_with_a_known_layout_is_read_as_that_family():
    detected = detect({"model_type": "my_own_llama"}, LLAMA)
    assert detected.family.arch == "llama"
    (note,) = detected.notes
    assert note.kind == "read-as" and "'my_own_llama'" in note.text and "read as llama" in note.text


def test_model_type_whose_layout_does_not_fit_is_detected_by_layout():
    detected = detect({"model_type": "gpt2"}, LLAMA)
    assert detected.family.arch == "llama"
    (note,) = detected.notes
    assert note.kind == "read-as" and "'gpt2'" in note.text and "wte.weight" in note.text
    assert "read as llama" in note.text


def test_hint_never_overrides_a_contradicting_tensor():
    """config.json says llama, but the per-head q/k norms are Qwen3's: Llama's layout forbids them."""
    detected = detect({"model_type": "llama"}, _canonical(FAMILIES["qwen3"]))
    assert detected.family.arch == "qwen3" and "q_norm" in detected.notes[0].text


def test_nothing_fits_falls_back_to_generic_and_says_why():
    detected = detect({"model_type": "llama"}, ["encoder.0.weight", "head.weight"])
    assert detected.family.arch == FALLBACK
    assert "no other family's layout fits" in detected.notes[0].text
    assert detect({"model_type": "unheard_of"}, ["a.weight"]).family.arch == FALLBACK


def test_config_keys_rule_a_family_out():
    """gpt_bigcode stores GPT-2's names in another layout; its config's multi_query says so. A config naming
    gpt_bigcode chooses its own family; one naming an unknown model_type with multi_query is not read as GPT-2."""
    gpt2_names = _canonical(FAMILIES["gpt2"], "transformer.")
    assert detect({"model_type": "gpt_bigcode", "multi_query": True}, gpt2_names).family.arch == "gpt_bigcode"
    assert detect({"model_type": "santacoder_fork", "multi_query": True}, gpt2_names).family.arch == FALLBACK
    assert detect({"model_type": "gpt2"}, gpt2_names).family.arch == "gpt2"


def test_qwen2_is_llama_with_q_bias_and_no_o_bias():
    with_q_bias = LLAMA + ["model.layers.0.self_attn.q_proj.bias"]
    assert detect(None, with_q_bias).family.arch == "qwen2"
    assert detect(None, with_q_bias + ["model.layers.0.self_attn.o_proj.bias"]).family.arch == "llama"


def test_roberta_needs_a_mark_only_when_config_does_not_name_it():
    bare = _canonical(FAMILIES["bert"], "")
    assert detect(None, bare).family.arch == "bert"  # a bare RobertaModel's names are BERT's
    assert detect({"model_type": "roberta"}, bare).family.arch == "roberta"
    assert detect(None, _canonical(FAMILIES["roberta"], "")).family.arch == "roberta"


def test_layout_patterns():
    seen = suffixes(["model.layers.3.self_attn.q_proj.weight", "lm_head.weight"])
    assert {"model.layers.{l}.self_attn.q_proj.weight", "layers.{l}.self_attn.q_proj.weight",
            "self_attn.q_proj.weight", "lm_head.weight"} <= seen
    layout = Layout(requires=("layers.{l}.self_attn.q_proj.weight",), forbids=("lm_head.weight",))
    assert layout.mismatch(seen, None) == "a tensor named like 'lm_head.weight'"
    assert Layout(requires=("q_proj.weight",)).mismatch(seen, None) is None
    assert Layout(requires=("proj.weight",)).mismatch(seen, None) is not None  # whole dotted parts only
    assert Layout(forbids_config=("alibi",)).mismatch(seen, {"alibi": True}) == "config.json sets 'alibi'"
    assert Layout(marks=("x.weight",)).mismatch(seen, None, named=True) is None
