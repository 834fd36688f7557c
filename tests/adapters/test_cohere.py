from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward

L = "model.layers.{l}."
TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=96,
            vocab_size=101, max_position_embeddings=64, bos_token_id=1, eos_token_id=2, pad_token_id=0)
# attention and the MLP both read input_layernorm's output (parallel residual): the MLP's input hook sees that x
SPEC = Spec(attn=L + "self_attn", mlp=L + "mlp", zero_positions=True,
            norms={"blocks.{l}.ln1.w": L + "input_layernorm", "ln_final.w": "model.norm"})


def test_tiny_cohere_matches_forward_pass(tmp_path):
    hf, model = build("cohere", tmp_path, logit_scale=0.25, **TINY)
    c = model.cfg
    assert model.arch == "cohere" and model.has_heads and not model.cfg.notes
    assert (c.n_heads, c.n_kv_heads, c.d_head) == (4, 2, 16)
    assert (c.parallel_residual, c.norm, c.gated_mlp, c.logit_scale, c.tied_embeddings) == (
        True, "layernorm", True, 0.25, True)
    assert not model.has("blocks.0.ln2.w") and not model.has("blocks.0.ln1.b")  # one bias-free norm per layer
    check_forward(hf, model, SPEC)
    check_ends(hf, model, logit_scale=0.25)
    assert_all_accounted(model)


def test_qk_norm_is_listed_and_noted(tmp_path):
    _, model = build("cohere", tmp_path, use_qk_norm=True, **{**TINY, "num_hidden_layers": 1})
    assert model.ignored["model.layers.0.self_attn.q_norm.weight"][0] == "norm"
    assert any("use_qk_norm" in n.text for n in model.cfg.notes if n.kind == "maths")
    assert_all_accounted(model)


def test_cohere_layout_without_config_is_not_read_as_llama(tmp_path):
    import shutil

    build("cohere", tmp_path / "with", **TINY)
    (tmp_path / "bare").mkdir()
    shutil.copy(tmp_path / "with" / "model.safetensors", tmp_path / "bare" / "model.safetensors")
    from adapters import open_model

    assert open_model(str(tmp_path / "bare" / "model.safetensors"), n_heads=4).arch == "cohere"
