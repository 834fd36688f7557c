import numpy as np
from transformers import GPT2Config, GPT2LMHeadModel

from adapters import open_model
from tests.adapters.harness import Spec, assert_all_accounted, build, check_forward

SPEC = Spec(attn="transformer.h.{l}.attn", mlp="transformer.h.{l}.mlp")


def test_tiny_gpt2_matches_forward_pass(tmp_path):
    hf, model = build("gpt2", tmp_path, n_embd=64, n_layer=2, n_head=4, vocab_size=101, n_positions=32)
    assert model.arch == "gpt2"
    assert model.cfg.n_heads == 4 and model.cfg.d_head == 16 and model.cfg.positional == "learned"
    assert model.weight("blocks.0.attn.W_Q").shape == (4, 64, 16)
    assert model.weight("blocks.1.attn.W_O").shape == (4, 16, 64)
    check_forward(hf, model, SPEC)
    assert_all_accounted(model)


def test_tied_unembed_reads_wte(tmp_path):
    hf, model = build("gpt2", tmp_path, n_embd=32, n_layer=1, n_head=2, vocab_size=50, n_positions=16)
    assert model.tied == [("lm_head.weight", "transformer.wte.weight")]
    np.testing.assert_array_equal(model.weight("unembed.W_U"), model.weight("embed.W_E").T)
    np.testing.assert_allclose(model.weight("unembed.W_U"), hf.lm_head.weight.detach().numpy().T)
    assert model.sources("unembed.W_U") == ("lm_head.weight", "transformer.wte.weight")


def test_gpt2_small_parameter_counts(gpt2_small_dir):
    model = open_model(str(gpt2_small_dir))
    stored, unique = model.param_counts()
    assert (stored, unique) == (163_037_184, 124_439_808)
    tied = [t for t in model.tensors() if t.tied_to]
    assert [(t.name, t.tied_to) for t in tied] == [("lm_head.weight", "transformer.wte.weight")]
    hf_params = sum(p.numel() for p in GPT2LMHeadModel(GPT2Config()).parameters())  # torch dedups tied
    assert unique == hf_params


def test_single_file_without_config_infers_gpt2_small(gpt2_small_dir, tmp_path):
    lone = tmp_path / "weights.safetensors"
    lone.write_bytes((gpt2_small_dir / "model.safetensors").read_bytes())
    model = open_model(str(lone))
    assert model.arch == "gpt2"
    c = model.cfg
    assert (c.n_layers, c.d_model, c.n_heads, c.d_mlp, c.d_vocab, c.n_ctx) == (12, 768, 12, 3072, 50257, 1024)
    assert any(n.kind == "heads-assumed" and "n_heads=12 is assumed" in n.text for n in c.notes)
    assert open_model(str(lone), n_heads=6).weight("blocks.0.attn.W_Q").shape == (6, 768, 128)


def test_opening_reads_only_the_header(gpt2_small_dir, monkeypatch):
    from adapters import checkpoint
    reads = []
    monkeypatch.setattr(checkpoint.Checkpoint, "read", lambda self, name: reads.append(name))
    open_model(str(gpt2_small_dir))
    assert reads == []
