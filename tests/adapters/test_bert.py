import numpy as np
import torch
from transformers import BertModel

from adapters import open_model
from tests.adapters.harness import Spec, assert_all_accounted, build, check_forward


def spec(prefix: str) -> Spec:
    layer = prefix + "encoder.layer.{l}."
    return Spec(attn=layer + "attention.self", attn_out=layer + "attention.output.dense",
                mlp=layer + "intermediate", mlp_out=layer + "output.dense", causal=False)


def test_tiny_bert_matches_forward_pass(tmp_path):
    hf, model = build("bert", tmp_path, causal_lm=False, hidden_size=64, num_hidden_layers=2,
                      num_attention_heads=4, intermediate_size=96, vocab_size=99, max_position_embeddings=40)
    assert model.arch == "bert" and model.cfg.norm_position == "post"
    check_forward(hf, model, spec(""))
    assert_all_accounted(model)
    assert not model.tied and not model.has("unembed.W_U")  # a bare BertModel has no LM head


def test_bert_mlm_head_is_tied(tmp_path):
    from transformers import AutoConfig, BertForMaskedLM
    torch.manual_seed(0)
    cfg = AutoConfig.for_model("bert", hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                               intermediate_size=64, vocab_size=50, max_position_embeddings=16)
    hf = BertForMaskedLM(cfg)
    hf.save_pretrained(tmp_path)
    model = open_model(str(tmp_path))
    assert model.tied == [("cls.predictions.decoder.weight", "bert.embeddings.word_embeddings.weight")]
    np.testing.assert_allclose(model.weight("unembed.W_U"), hf.cls.predictions.decoder.weight.detach().numpy().T)
    assert_all_accounted(model)


def test_real_minilm_opens_and_matches_bert(minilm_dir):
    model = open_model(minilm_dir)
    assert model.arch == "bert"
    assert (model.cfg.n_layers, model.cfg.n_heads, model.cfg.d_model) == (6, 12, 384)
    assert_all_accounted(model)
    hf = BertModel.from_pretrained(minilm_dir, attn_implementation="eager").eval()
    check_forward(hf, model, spec(""), atol=2e-4)
