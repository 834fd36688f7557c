"""JetMoE against its own forward pass, checked here by hand: its attention heads depend on each token's routed
experts, so harness.check_forward's fixed heads and harness_moe.check_moe's (logits, weights, index) router
interface do not fit. For every layer, on the modules' own inputs:
- the attention router's logits; each token's chosen experts and their softmax weights, from W_router alone;
- the attention pattern of every (chosen expert, kv head) against the model's recorded one, row by row;
- the attention output: the chosen experts' heads through W_O, weighted, plus b_O;
- the MLP block: router logits, and the chosen experts' gated MLPs weighted, plus b_out."""
import numpy as np
import torch
from transformers.activations import ACT2FN

from adapters import open_model
from tests.adapters.harness import _module, assert_all_accounted, build, check_ends

L = "model.layers.{l}."
TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, kv_channels=16,
            intermediate_size=40, vocab_size=101, max_position_embeddings=64, num_local_experts=3,
            num_experts_per_tok=2)


def _routed(x, w_router, top_k):
    logits = x @ w_router  # (seq, n_experts)
    chosen = np.argsort(-logits, axis=1, kind="stable")[:, :top_k]  # descending, as torch.topk
    top = np.take_along_axis(logits, chosen, 1)
    gates = np.exp(top - top.max(1, keepdims=True))
    return logits, chosen, gates / gates.sum(1, keepdims=True)


def check_jetmoe(hf, model, seq: int = 7, atol: float = 1e-4) -> None:
    c = model.cfg
    captured, hooks = {}, []
    for l in range(c.n_layers):
        for key, path in ((f"a{l}", L + "self_attention"), (f"m{l}", L + "mlp")):
            mod = _module(hf, path.format(l=l))
            hooks.append(mod.register_forward_pre_hook(
                lambda m, a, kw, key=key: captured.__setitem__(key + ":in", (a[0] if a else kw["hidden_states"])[0]),
                with_kwargs=True))
            hooks.append(mod.register_forward_hook(
                lambda m, a, o, key=key: captured.__setitem__(key + ":out", (o[0] if isinstance(o, tuple) else o)[0])))
    ids = torch.randint(3, c.d_vocab, (1, seq))
    with torch.no_grad():  # positions at zero: rotary is the identity; the explicit mask keeps it causal
        out = hf(input_ids=ids, position_ids=torch.zeros(1, seq, dtype=torch.long),
                 attention_mask=torch.ones(1, seq), output_attentions=True)
    for h in hooks:
        h.remove()
    k_top, n_kv, n_exp = c.n_experts_per_token, c.n_kv_heads, c.n_experts
    for l in range(c.n_layers):
        w = lambda s: model.weight(f"blocks.{l}.{s}")  # noqa: E731
        x = captured[f"a{l}:in"].double().numpy()
        logits, chosen, gates = _routed(x, w("attn.W_router"), k_top)
        router = _module(hf, (L + "self_attention.experts.router").format(l=l))
        with torch.no_grad():
            np.testing.assert_allclose(logits, router(captured[f"a{l}:in"])[4].double().numpy(), atol=atol)
        k = np.einsum("sd,hde->hse", x, w("attn.W_K"))  # (n_kv, seq, d_head)
        v = np.einsum("sd,hde->hse", x, w("attn.W_V"))
        recorded = out.attentions[l][0].double().numpy()  # (k_top * n_kv, seq, seq): slot k's heads, then kv head
        expected = w("attn.b_O") + np.zeros_like(x)
        causal = np.tril(np.ones((seq, seq), bool))
        for t in range(seq):
            for slot in range(k_top):
                for j in range(n_kv):
                    head = j * n_exp + chosen[t, slot]
                    scores = np.where(causal[t], x[t] @ w("attn.W_Q")[head] @ k[j].T / np.sqrt(c.d_head), -np.inf)
                    pattern = np.exp(scores - scores.max())
                    pattern /= pattern.sum()
                    np.testing.assert_allclose(pattern, recorded[slot * n_kv + j, t], atol=atol,
                                               err_msg=f"layer {l} token {t} expert {chosen[t, slot]} head {j}")
                    expected[t] += gates[t, slot] * (pattern @ v[j]) @ w("attn.W_O")[head]
        np.testing.assert_allclose(expected, captured[f"a{l}:out"].double().numpy(), atol=atol,
                                   err_msg=f"layer {l}: attention output")

        xm = captured[f"m{l}:in"].double().numpy()
        logits, chosen, gates = _routed(xm, w("mlp.W_router"), k_top)
        act = ACT2FN[c.act]
        expected = w("mlp.b_out") + np.zeros_like(xm)
        for t in range(seq):
            for slot in range(k_top):
                e = chosen[t, slot]
                ex = lambda s: model.weight(f"blocks.{l}.mlp.experts.{s}", expert=e)  # noqa: E731
                hidden = act(torch.from_numpy(xm[t] @ ex("W_gate"))).numpy() * (xm[t] @ ex("W_in"))
                expected[t] += gates[t, slot] * hidden @ ex("W_out")
        np.testing.assert_allclose(expected, captured[f"m{l}:out"].double().numpy(), atol=atol,
                                   err_msg=f"layer {l}: MoE block output")


def test_tiny_jetmoe_matches_forward_pass(tmp_path):
    hf, model = build("jetmoe", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "jetmoe" and model.has_heads
    assert (c.n_heads, c.n_kv_heads, c.d_head, c.n_experts, c.n_experts_per_token, c.d_expert) == (6, 2, 16, 3, 2, 40)
    assert model.weight("blocks.0.attn.W_Q").shape == (6, 64, 16) and model.weight("blocks.1.attn.W_O").shape == (6, 16, 64)
    assert model.weight("blocks.0.attn.W_router").shape == (64, 3)
    q = hf.model.layers[0].self_attention.experts.input_linear.weight.detach().numpy()  # expert 2, its kv head 1
    np.testing.assert_array_equal(model.weight("blocks.0.attn.W_Q")[1 * 3 + 2], q[2, 16:32].T)
    check_jetmoe(hf, model)
    np.testing.assert_array_equal(model.weight("blocks.1.ln2.w"),
                                  hf.model.layers[1].post_attention_layernorm.weight.detach().numpy())
    check_ends(hf, model)
    assert_all_accounted(model)


def test_jetmoe_without_config_is_read_by_layout(tmp_path):
    build("jetmoe", tmp_path, **TINY)
    (tmp_path / "config.json").unlink()
    model = open_model(str(tmp_path), n_heads=6)  # every expert's heads: 3 experts x 2 kv heads
    c = model.cfg
    assert model.arch == "jetmoe" and model.has_heads and (c.n_kv_heads, c.d_head, c.n_experts, c.d_expert) == (2, 16, 3, 40)
    assert_all_accounted(model)
