"""CPM-Ant against its own forward pass. prompt_length=0: the model then prepends no learned prompt tokens, so
every token is in one segment and the scores' bias is W_rel's distance buckets alone (the segment-pair rows are
used only between segments); the prompt rows of input_embedding are checked by shape."""
import numpy as np
import torch
from transformers.models.t5.modeling_t5 import T5Attention

from adapters import open_model
from tests.adapters.harness import Spec, assert_all_accounted, build, check_forward

L = "cpmant.encoder.layers.{l}."
TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, dim_head=16, dim_ff=48, vocab_size=101,
            position_bias_num_buckets=32, position_bias_max_distance=64, segment_types=3, prompt_types=2,
            prompt_length=0, init_std=0.05)  # the default init (std 1) gives outputs too large for float32 checks


def relative_bias(model, layer, seq):
    rel = torch.arange(seq)[None, :] - torch.arange(seq)[:, None]  # key - query
    buckets = T5Attention._relative_position_bucket(rel, bidirectional=True, num_buckets=model.cfg.rel_buckets,
                                                    max_distance=model.cfg.rel_max_distance).numpy()
    return model.weight("pos_embed.W_rel")[buckets].transpose(2, 0, 1)  # (n_heads, seq, seq)


SPEC = Spec(attn=L + "self_att.self_attention", mlp=L + "ffn.ffn", causal=False, score_bias=relative_bias,
            norms={"blocks.{l}.ln1.w": L + "self_att.layernorm_before_attention",
                   "blocks.{l}.ln2.w": L + "ffn.layernorm_before_ffn", "ln_final.w": "cpmant.encoder.output_layernorm"})


def test_tiny_cpmant_matches_forward_pass(tmp_path):
    hf, model = build("cpmant", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "cpmant" and model.has_heads
    assert (c.n_heads, c.d_head, c.d_mlp, c.d_vocab, c.rel_buckets, c.rel_max_distance) == (4, 16, 48, 101, 32, 64)
    assert model.weight("pos_embed.W_rel").shape == (32, 4)
    assert model.weight("token_type_embed.W_token_type").shape == (3, 64)
    check_forward(hf, model, SPEC)
    assert_all_accounted(model)


def test_cpmant_prompt_rows_and_logits(tmp_path):
    hf, model = build("cpmant", tmp_path, **{**TINY, "prompt_length": 5, "prompt_types": 3})  # it reads type 2's
    assert model.weight("embed.W_E").shape == (101 + 3 * 5, 64) and model.weight("unembed.W_U").shape == (64, 101)
    ids = torch.randint(3, 101, (1, 6))
    with torch.no_grad():
        out = hf(input_ids=ids, output_hidden_states=True)
    np.testing.assert_allclose(out.hidden_states[-1][0].double().numpy() @ model.weight("unembed.W_U"),
                               out.logits[0].double().numpy(), atol=1e-4)  # after the final norm, prompt dropped


def test_cpmant_without_config_is_read_by_layout(tmp_path):
    build("cpmant", tmp_path, **{**TINY, "position_bias_num_buckets": 512, "position_bias_max_distance": 2048,
                                 "segment_types": 32})  # the released split, which it assumes
    (tmp_path / "config.json").unlink()
    model = open_model(str(tmp_path))  # the bias's columns are the heads
    c = model.cfg
    assert model.arch == "cpmant" and model.has_heads and (c.n_heads, c.d_head, c.d_mlp) == (4, 16, 48)
    assert model.weight("pos_embed.W_rel").shape == (512, 4)
    assert_all_accounted(model)
