import numpy as np
import torch
from transformers import AutoConfig, AutoModelForMaskedLM

from adapters import open_model
from tests.adapters.harness import Spec, assert_all_accounted, build, check_forward


def spec(prefix: str) -> Spec:
    layer = prefix + "encoder.layer.{l}."
    return Spec(attn=layer + "attention.self", attn_out=layer + "attention.output.dense",
                mlp=layer + "intermediate", mlp_out=layer + "output.dense", causal=False)


TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=96, vocab_size=101,
            max_position_embeddings=40, type_vocab_size=1, pad_token_id=1)


def _masked_lm(tmp_path, **overrides):
    torch.manual_seed(0)
    cfg = AutoConfig.for_model("roberta", **{**TINY, **overrides})
    hf = AutoModelForMaskedLM.from_config(cfg, attn_implementation="eager").eval()
    with torch.no_grad():
        for p in hf.parameters():
            p.add_(torch.randn_like(p) * 0.05)  # as harness.build: every bias and norm non-default
    hf.save_pretrained(tmp_path)
    return hf, open_model(str(tmp_path))


def test_tiny_roberta_matches_forward_pass(tmp_path):
    hf, model = build("roberta", tmp_path, causal_lm=False, **TINY)
    c = model.cfg
    assert model.arch == "roberta" and c.norm_position == "post"
    assert c.n_ctx == 38 and model.weight("pos_embed.W_pos").shape == (38, 64)
    check_forward(hf, model, spec(""))
    assert_all_accounted(model)
    assert not model.tied and not model.has("unembed.W_U")  # a bare RobertaModel has no LM head


def test_positions_start_after_padding_idx(tmp_path):
    """embeddings(ids) = LN(W_E[ids] + W_pos[0..seq) + W_token_type[0]) with W_pos row i = position i."""
    hf, model = _masked_lm(tmp_path)
    ids = torch.tensor([[0, 5, 9, 42, 2]])
    with torch.no_grad():
        out = hf.roberta.embeddings(input_ids=ids)[0].numpy()
    e = (model.weight("embed.W_E")[ids[0].numpy()] + model.weight("pos_embed.W_pos")[:5]
         + model.weight("token_type_embed.W_token_type")[0])
    e = (e - e.mean(-1, keepdims=True)) / np.sqrt(e.var(-1, keepdims=True) + 1e-12)
    np.testing.assert_allclose(e * model.weight("embed.ln.w") + model.weight("embed.ln.b"), out, atol=1e-5)
    assert any("padding_idx + 1 = 2" in n.text for n in model.cfg.notes if n.kind == "layout")


def test_mlm_head_is_tied_and_accounted(tmp_path):
    hf, model = _masked_lm(tmp_path, num_hidden_layers=1)
    assert model.tied == [("lm_head.decoder.weight", "roberta.embeddings.word_embeddings.weight")]
    np.testing.assert_allclose(model.weight("unembed.W_U"), hf.lm_head.decoder.weight.detach().numpy().T)
    np.testing.assert_allclose(model.weight("unembed.b_U"), hf.lm_head.bias.detach().numpy())
    check_forward(hf, model, spec("roberta."))
    assert_all_accounted(model)
    assert {v[0] for v in model.ignored.values()} == {"unembed"}  # lm_head.dense / layer_norm


def test_other_padding_idx_moves_the_offset(tmp_path):
    hf, model = build("roberta", tmp_path, causal_lm=False, **{**TINY, "pad_token_id": 3, "num_hidden_layers": 1})
    assert model.cfg.n_ctx == 36
    np.testing.assert_allclose(model.weight("pos_embed.W_pos"),
                               hf.embeddings.position_embeddings.weight.detach().numpy()[4:])


def test_roberta_without_config_is_not_read_as_bert(tmp_path):
    from transformers import AutoConfig, RobertaForMaskedLM
    cfg = AutoConfig.for_model("roberta", hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                               intermediate_size=64, vocab_size=50, max_position_embeddings=20)
    RobertaForMaskedLM(cfg).save_pretrained(tmp_path)
    (tmp_path / "config.json").unlink()
    assert open_model(str(tmp_path / "model.safetensors")).arch == "roberta"
