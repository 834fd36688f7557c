import numpy as np
import torch

from tests.adapters.harness import Spec, _rms, assert_all_accounted, build, check_forward

L = "model.layers.{l}."
TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=96,
            vocab_size=99, max_position_embeddings=64)


def test_tiny_nanochat_matches_forward_pass(tmp_path):
    hf, model = build("nanochat", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "nanochat" and model.has_heads
    assert (c.n_heads, c.n_kv_heads, c.d_head, c.act, c.qk_norm, c.logit_softcap) == (4, 2, 16, "relu2", "head_plain",
                                                                                        hf.config.final_logit_softcapping)
    assert not any(model.has(f"blocks.0.{s}") for s in ("ln1.w", "attn.q_norm.w", "mlp.W_gate"))
    check_forward(hf, model, Spec(attn=L + "self_attn", mlp=L + "mlp", zero_positions=True))  # weightless q/k RMS
    ids = torch.randint(3, c.d_vocab, (1, 7))
    with torch.no_grad():
        out = hf(input_ids=ids, output_hidden_states=True)
    # the first hidden state is already the weightless RMSNorm of the embeddings
    np.testing.assert_allclose(_rms(model.weight("embed.W_E")[ids[0].numpy()], 1.0), out.hidden_states[0][0].numpy(),
                               atol=1e-4)
    logits = out.hidden_states[-1][0].double().numpy() @ model.weight("unembed.W_U")
    np.testing.assert_allclose(c.logit_softcap * np.tanh(logits / c.logit_softcap), out.logits[0].numpy(), atol=1e-4)
    assert_all_accounted(model)
