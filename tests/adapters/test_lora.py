"""LoRA adapters saved by the real `peft` library: read alone, and merged over their base tensor by tensor,
equal to what peft's own merge_and_unload() produces."""
import json
import shutil

import numpy as np
import pytest
import torch
from peft import LoraConfig, get_peft_model
from safetensors.numpy import save_file

from adapters import LoadError, open_model
from adapters.lora import read_adapter
from tests.adapters.harness import build
from topics import adapter as adapter_topic
from topics import compare

LLAMA = dict(hidden_size=64, intermediate_size=96, num_hidden_layers=3, num_attention_heads=4,
             num_key_value_heads=2, vocab_size=50, max_position_embeddings=32)


def _train_like(peft_model, seed: int) -> None:
    """Random LoRA factors (peft starts B at zero, which would merge to nothing)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_" in name or "modules_to_save" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)


def _make(tmp_path, model_type, config, lora: LoraConfig, seed=0):
    """(base folder, adapter folder, peft's merged state dict) for a tiny model."""
    hf, _ = build(model_type, tmp_path / "base", **config)
    peft_model = get_peft_model(hf, lora)
    _train_like(peft_model, seed)
    peft_model.save_pretrained(tmp_path / "adapter")
    cfg_path = tmp_path / "adapter" / "adapter_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["base_model_name_or_path"] = str(tmp_path / "base")
    cfg_path.write_text(json.dumps(cfg))
    merged = {k: v.detach().numpy().copy() for k, v in peft_model.merge_and_unload().state_dict().items()}
    return tmp_path / "base", tmp_path / "adapter", merged


@pytest.fixture(scope="module")
def llama_lora(tmp_path_factory):
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj", "embed_tokens"],
                      use_rslora=True, rank_pattern={"v_proj": 2}, alpha_pattern={"down_proj": 3},
                      modules_to_save=["lm_head"])
    return _make(tmp_path_factory.mktemp("llama_lora"), "llama", LLAMA, lora)


def test_merged_weights_equal_peft_merge_and_unload(llama_lora):
    base, folder, want = llama_lora
    merged = open_model(str(folder))  # an adapter folder opens as its base with the adapter merged
    assert merged.arch == "llama" and "+lora:" in merged.identity and merged.located.adapter == str(folder)
    assert merged.source.endswith("+ adapter")
    names = merged.raw_names()
    assert set(want) - set(names) <= {"lm_head.weight"} or "lm_head.weight" in names
    for name in names:
        np.testing.assert_allclose(merged.raw(name), want[name], rtol=1e-5, atol=1e-6, err_msg=name)
    plain = open_model(str(base))
    changed = [n for n in names if not np.array_equal(plain.raw(n), merged.raw(n))]
    assert sorted(changed) == sorted(
        ["model.embed_tokens.weight", "lm_head.weight"]
        + [f"model.layers.{l}.{m}.weight" for l in range(3)
           for m in ("self_attn.q_proj", "self_attn.v_proj", "mlp.down_proj")])


def test_adapter_alone_reports_ranks_alphas_and_rslora_scales(llama_lora):
    _, folder, _ = llama_lora
    adapter = read_adapter(str(folder))
    rows = {r["module"]: r for r in adapter_topic.modules(adapter)}
    q, v, down = (rows[f"model.layers.1.{m}"] for m in ("self_attn.q_proj", "self_attn.v_proj", "mlp.down_proj"))
    assert (q["rank"], q["alpha"], q["scale"]) == (4, 8, pytest.approx(8 / 2))  # rsLoRA: alpha / sqrt(r)
    assert (v["rank"], v["alpha"], v["scale"]) == (2, 8, pytest.approx(8 / np.sqrt(2)))
    assert (down["rank"], down["alpha"], down["scale"]) == (4, 3, pytest.approx(3 / 2))
    assert rows["model.embed_tokens"]["layer"] is None and q["layer"] == 1
    # ||scale * B A||_F and the effective rank, against numpy on the full product
    m = next(m for m in adapter.modules if m.module == "model.layers.1.self_attn.q_proj")
    b, a = adapter.factors(m)
    s = np.linalg.svd(m.scale * (b.astype(np.float64) @ a), compute_uv=False)
    assert q["update_norm"] == pytest.approx(np.sqrt((s ** 2).sum()), rel=1e-6)
    p = s[s > 1e-9 * s[0]] / s[s > 1e-9 * s[0]].sum()
    assert q["effective_rank"] == pytest.approx(np.exp(-(p * np.log(p)).sum()), rel=1e-6)
    assert q["rank_99"] <= 4
    text = adapter_topic.reading(list(rows.values()), list(adapter.replaced), rslora=True)
    assert text.startswith("A rsLoRA adapter of ranks 2-4 (alphas 3-8, ")
    assert "on `embed_tokens`, `down_proj`, `q_proj`, `v_proj` in layers 0-2: 10 modules." in text
    assert "`lm_head.weight`" in text


def test_comparison_with_the_merged_adapter_finds_its_ranks_and_heads(llama_lora):
    base, folder, _ = llama_lora
    result = compare.compute(open_model(str(base)), open_model(str(folder)))
    changed = {d.name: d for d in result.diffs if d.rel_change > 0}
    assert set(changed) == {"embed.W_E", "unembed.W_U"} | {f"blocks.{l}.{s}" for l in range(3)
                                                            for s in ("attn.W_Q", "attn.W_V", "mlp.W_out")}
    assert all(changed[f"blocks.{l}.attn.W_Q"].rank_99 <= 4 for l in range(3))
    assert all(changed[f"blocks.{l}.attn.W_V"].rank_99 <= 2 for l in range(3))
    assert changed["embed.W_E"].rank_99 <= 4
    text = compare.reading(result)
    assert "low-rank" in text and "`attn.W_V`: rank 2" in text


def test_gpt2_conv1d_adapter_with_fan_in_fan_out(tmp_path):
    lora = LoraConfig(r=3, lora_alpha=6, target_modules=["c_attn", "c_proj"], fan_in_fan_out=True)
    base, folder, want = _make(tmp_path, "gpt2", dict(n_embd=32, n_layer=2, n_head=2, vocab_size=60,
                                                      n_positions=16), lora)
    merged = open_model(str(folder))
    for name in merged.raw_names():
        np.testing.assert_allclose(merged.raw(name), want[name], rtol=1e-5, atol=1e-6, err_msg=name)
    result = compare.compute(open_model(str(base)), merged)
    q = next(d for d in result.diffs if d.name == "blocks.0.attn.W_Q")
    assert 1 <= q.rank_99 <= 3  # c_attn's rank-3 update, seen through W_Q's columns


def test_adapter_over_the_wrong_base_and_bad_adapters(llama_lora, tmp_path):
    _, folder, _ = llama_lora
    other = tmp_path / "other"
    _, wide = build("llama", other, **{**LLAMA, "hidden_size": 32, "intermediate_size": 48})
    bad = tmp_path / "bad"
    shutil.copytree(folder, bad)
    cfg = json.loads((bad / "adapter_config.json").read_text())
    (bad / "adapter_config.json").write_text(json.dumps({**cfg, "base_model_name_or_path": str(other)}))
    with pytest.raises(LoadError, match="update of 'model.embed_tokens.weight' is 50 x 64, but the base holds it "
                                        "as 50 x 32: it was trained on another model"):
        open_model(str(bad))
    (bad / "adapter_config.json").write_text(json.dumps({**cfg, "use_dora": True}))
    with pytest.raises(LoadError, match="DoRA adapter"):
        open_model(str(bad))
    (bad / "adapter_config.json").write_text(json.dumps({**cfg, "peft_type": "IA3"}))
    with pytest.raises(LoadError, match="is a IA3 adapter; only LoRA"):
        open_model(str(bad))
    (bad / "adapter_config.json").write_text(json.dumps({**cfg, "base_model_name_or_path": None}))
    with pytest.raises(LoadError, match="does not name its base model"):
        open_model(str(bad))
    (bad / "adapter_config.json").write_text(json.dumps(cfg))
    save_file({"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight": np.ones((4, 64), np.float32)},
              str(bad / "adapter_model.safetensors"))
    with pytest.raises(LoadError, match="has only one of its two LoRA factors"):
        open_model(str(bad))
    (bad / "adapter_config.json").write_text("{not json")
    with pytest.raises(LoadError, match="not valid JSON"):
        open_model(str(bad))
