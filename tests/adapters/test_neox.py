import numpy as np

from tests.adapters.harness import Spec, assert_all_accounted, build, check_forward

# Parallel residual: the MLP's own input is post_attention_layernorm(residual), so hooking mlp works as is.
SPEC = Spec(attn="gpt_neox.layers.{l}.attention", mlp="gpt_neox.layers.{l}.mlp", zero_positions=True)
# intermediate 128, not 96: 96 gives a safetensors header whose first byte is 0x80, which
# adapters/checkpoint.py currently mistakes for a pickle (reported to the lead).
TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128, vocab_size=101,
            max_position_embeddings=32)


def test_tiny_neox_matches_forward_pass(tmp_path):
    hf, model = build("gpt_neox", tmp_path, rotary_pct=0.5, **TINY)
    c = model.cfg
    assert model.arch == "neox"
    assert (c.positional, c.rotary_dim, c.parallel_residual, c.act) == ("rotary", 8, True, "gelu")
    assert model.weight("blocks.0.attn.W_K").shape == (4, 64, 16)
    assert model.weight("blocks.0.attn.b_V").shape == (4, 16)
    assert model.weight("blocks.1.mlp.W_in").shape == (64, 128)
    check_forward(hf, model, SPEC)
    assert_all_accounted(model)
    assert not model.tied
    np.testing.assert_allclose(model.weight("unembed.W_U"), hf.lm_head.weight.detach().numpy().T)


def test_sequential_residual_variant(tmp_path):
    hf, model = build("gpt_neox", tmp_path, use_parallel_residual=False, **TINY)
    assert model.cfg.parallel_residual is False and model.cfg.rotary_dim == 4  # default rotary_pct 0.25
    check_forward(hf, model, SPEC)


def test_old_checkpoint_buffers_are_ignored(tmp_path):
    from safetensors.numpy import load_file, save_file
    hf, _ = build("gpt_neox", tmp_path, **TINY)
    tensors = load_file(tmp_path / "model.safetensors")
    tensors["gpt_neox.layers.0.attention.bias"] = np.tril(np.ones((1, 1, 32, 32), bool))
    tensors["gpt_neox.layers.0.attention.masked_bias"] = np.array(-1e9, np.float32)
    tensors["gpt_neox.layers.0.attention.rotary_emb.inv_freq"] = np.ones(2, np.float32)
    save_file(tensors, tmp_path / "model.safetensors", metadata={"format": "pt"})
    from adapters import open_model
    model = open_model(str(tmp_path))
    assert_all_accounted(model)
    assert {v[0] for v in model.ignored.values()} == {"buffer"}


def test_infers_shapes_without_config(tmp_path):
    build("gpt_neox", tmp_path, **TINY)
    from adapters import open_model
    model = open_model(str(tmp_path / "model.safetensors"), n_heads=4)
    c = model.cfg
    assert model.arch == "neox"
    assert (c.n_layers, c.d_model, c.d_vocab, c.d_mlp, c.rotary_dim) == (2, 64, 101, 128, 4)
