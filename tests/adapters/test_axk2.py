"""A.X-K2 against its own forward pass, by hand: harness_mla.check_mla reads q_b_proj as DeepSeek's query factor
and has no output gate, and harness.check_forward no gated norm. For every layer, on the modules' own inputs
(positions at zero: rotary is the identity; index_topk above the sequence: the indexer masks nothing):
- each gated norm: RMSNorm(x) * w, times sigmoid(silu(y @ W_gate_in) @ W_gate_out);
- queries from W_Q_a, q_a_norm, W_Q_b and W_Q_b_raw; keys and values from DeepSeek's factors; the pattern against
  the model's; the output through the sigmoid gate (W_gate_b, W_gate_b_raw) and W_O against the module's;
- the per-head views: W_Q is the model's query with its normed part times the latent's rms, W_K and W_V
  DeepSeek's; the experts with harness_moe.check_moe, the dense MLP by hand."""
import numpy as np
import torch
from transformers.activations import ACT2FN

from adapters import open_model
from tests.adapters.harness import _module, assert_all_accounted, build, check_ends
from tests.adapters.harness_moe import check_moe

L = "model.layers.{l}."
EPS = 1e-6
TINY = dict(hidden_size=64, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=4, intermediate_size=56,
            moe_intermediate_size=40, vocab_size=101, max_position_embeddings=64, n_routed_experts=4,
            num_experts_per_tok=2, n_shared_experts=1, q_lora_rank=24, kv_lora_rank=20, qk_nope_head_dim=12,
            qk_rope_head_dim=8, v_head_dim=10, gated_norm_rank=6, index_n_heads=2, index_head_dim=16,
            index_topk=64, mlp_layer_types=["dense", "sparse", "sparse"], rms_norm_eps=EPS)


def _rms(z):
    return np.sqrt((z * z).mean(-1, keepdims=True) + EPS)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def check_axk2(hf, model, seq: int = 7, atol: float = 1e-4) -> None:
    c = model.cfg
    nope = c.d_head - c.d_head_rope
    grabbed, hooks = {}, []
    paths = {"attn": "self_attn", "ln1": "input_layernorm", "ln2": "post_attention_layernorm", "mlp": "mlp"}
    for l in range(c.n_layers):
        for key, path in paths.items():
            mod = _module(hf, (L + path).format(l=l))
            hooks.append(mod.register_forward_pre_hook(
                lambda m, a, kw, k=f"{key}{l}": grabbed.__setitem__(k + ":in", (a[0] if a else kw["hidden_states"])[0]),
                with_kwargs=True))
            hooks.append(mod.register_forward_hook(
                lambda m, a, o, k=f"{key}{l}": grabbed.__setitem__(k + ":out", (o[0] if isinstance(o, tuple) else o)[0])))
    ids = torch.randint(3, c.d_vocab, (1, seq))
    with torch.no_grad():
        out = hf(input_ids=ids, position_ids=torch.zeros(1, seq, dtype=torch.long), attention_mask=torch.ones(1, seq),
                 output_attentions=True)
    for h in hooks:
        h.remove()
    got = lambda key: grabbed[key].double().numpy()  # noqa: E731
    for l in range(c.n_layers):
        w = lambda s: model.weight(f"blocks.{l}.{s}")  # noqa: E731
        for ln in ("ln1", "ln2"):
            y = got(f"{ln}{l}:in") / _rms(got(f"{ln}{l}:in")) * w(f"{ln}.w")
            if model.has(f"blocks.{l}.{ln}.W_gate_in"):
                hidden = ACT2FN["silu"](torch.from_numpy(y @ w(f"{ln}.W_gate_in"))).numpy()
                y = y * _sigmoid(hidden @ w(f"{ln}.W_gate_out"))
            np.testing.assert_allclose(y, got(f"{ln}{l}:out"), atol=atol, err_msg=f"layer {l}: {ln}")

        x = got(f"attn{l}:in")
        latent_q = x @ w("attn.W_Q_a")  # (seq, q_lora_rank)
        normed_q = latent_q / _rms(latent_q) * w("attn.q_a_norm.w")
        q = normed_q @ w("attn.W_Q_b") + latent_q @ w("attn.W_Q_b_raw")  # (n_heads, seq, d_head)
        gate = _sigmoid(normed_q @ w("attn.W_gate_b") + latent_q @ w("attn.W_gate_b_raw"))  # (n_heads, seq, d_head_v)
        latent_kv = x @ w("attn.W_KV_a")
        normed_kv = latent_kv / _rms(latent_kv) * w("attn.kv_a_norm.w")
        k_nope, v = normed_kv @ w("attn.W_K_b"), normed_kv @ w("attn.W_V_b")
        k_rope = np.broadcast_to(x @ w("attn.W_K_rope"), (c.n_heads, seq, c.d_head_rope))
        k = np.concatenate([k_nope, k_rope], axis=-1)
        scores = q @ k.transpose(0, 2, 1) * (c.attn_scale or c.d_head ** -0.5)
        scores = np.where(np.tril(np.ones((seq, seq), bool)), scores, -np.inf)
        pattern = np.exp(scores - scores.max(-1, keepdims=True))
        pattern /= pattern.sum(-1, keepdims=True)
        np.testing.assert_allclose(pattern, out.attentions[l][0].double().numpy(), atol=atol,
                                   err_msg=f"layer {l}: attention pattern")
        attn_out = np.einsum("hse,hed->sd", (pattern @ v) * gate, w("attn.W_O"))
        np.testing.assert_allclose(attn_out, got(f"attn{l}:out"), atol=atol, err_msg=f"layer {l}: attention output")
        # the views: W_Q's normed part is the model's times the query latent's rms; W_K, W_V DeepSeek's
        np.testing.assert_allclose(np.einsum("sd,hde->hse", x, w("attn.W_Q")),
                                   normed_q * _rms(latent_q) @ w("attn.W_Q_b") + latent_q @ w("attn.W_Q_b_raw"),
                                   atol=atol, err_msg=f"layer {l}: W_Q view")
        view_k = np.einsum("sd,hde->hse", x, w("attn.W_K"))
        np.testing.assert_allclose(view_k[..., :nope], k_nope * _rms(latent_kv), atol=atol, err_msg=f"layer {l}: W_K")
        np.testing.assert_allclose(view_k[..., nope:], k_rope, atol=atol, err_msg=f"layer {l}: W_K rotary")
        np.testing.assert_allclose(np.einsum("sd,hde->hse", x, w("attn.W_V")), v * _rms(latent_kv), atol=atol,
                                   err_msg=f"layer {l}: W_V view")
        if model.has(f"blocks.{l}.mlp.W_in"):
            xm = got(f"mlp{l}:in")
            hidden = ACT2FN[c.act](torch.from_numpy(xm @ w("mlp.W_gate"))).numpy() * (xm @ w("mlp.W_in"))
            np.testing.assert_allclose(hidden @ w("mlp.W_out"), got(f"mlp{l}:out"), atol=atol,
                                       err_msg=f"layer {l}: dense MLP")


def test_tiny_axk2_matches_forward_pass(tmp_path):
    hf, model = build("axk2", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "axk2" and model.has_heads
    assert (c.n_heads, c.d_head, c.d_head_v, c.d_head_rope, c.q_lora_rank, c.kv_lora_rank) == (4, 20, 10, 8, 24, 20)
    assert (c.n_experts, c.d_expert, c.n_shared_experts, c.moe_layers) == (4, 40, 1, (1, 2))
    assert model.weight("blocks.1.attn.W_Q_b_raw").shape == (4, 24, 20)
    assert model.weight("blocks.1.attn.W_gate_b").shape == (4, 24, 10)
    assert model.weight("blocks.2.ln2.W_gate_in").shape == (64, 6) and not model.has("blocks.0.ln2.W_gate_in")
    assert model.layers("ln2.w") == [0, 1, 2] and any("indexer" in n for n in model.ignored)
    check_axk2(hf, model)
    assert check_moe(hf, model, L + "mlp") == 2
    check_ends(hf, model)
    assert_all_accounted(model)


def test_axk2_without_config_is_read_by_layout(tmp_path):
    build("axk2", tmp_path, **TINY)
    (tmp_path / "config.json").unlink()
    model = open_model(str(tmp_path))  # every MLA size, the head count too, follows from the shapes
    c = model.cfg
    assert model.arch == "axk2" and model.has_heads
    assert (c.n_heads, c.d_head, c.d_head_v, c.d_head_rope, c.q_lora_rank, c.kv_lora_rank) == (4, 20, 10, 8, 24, 20)
    assert c.moe_layers == (1, 2)
    assert_all_accounted(model)
