"""DistilBERT (families/distilbert.py): a post-norm encoder under its own names, against the forward pass."""
from tests.adapters.harness import Spec, assert_all_accounted, build, check_forward

# layer_norm_eps is not a DistilBERT setting: its LayerNorms use 1e-12; it tells the harness's norm check so
TINY = dict(dim=64, n_layers=2, n_heads=4, hidden_dim=96, vocab_size=101, max_position_embeddings=64,
            layer_norm_eps=1e-12)
L = "distilbert.transformer.layer.{l}."
SPEC = Spec(attn=L + "attention", mlp=L + "ffn", causal=False,
            norms={"blocks.{l}.ln1.w": L + "sa_layer_norm", "blocks.{l}.ln2.w": L + "output_layer_norm",
                   "embed.ln.w": "distilbert.embeddings.LayerNorm"})


def test_tiny_distilbert_matches_forward_pass(tmp_path):
    hf, model = build("distilbert", tmp_path, causal_lm=False, **TINY)
    assert model.arch == "distilbert" and model.has_heads
    assert (model.cfg.norm_position, model.cfg.d_mlp, model.cfg.act) == ("post", 96, "gelu")
    check_forward(hf, model, Spec(attn="transformer.layer.{l}.attention", mlp="transformer.layer.{l}.ffn",
                                  causal=False, norms={"blocks.{l}.ln1.w": "transformer.layer.{l}.sa_layer_norm",
                                                       "embed.ln.w": "embeddings.LayerNorm"}))
    assert_all_accounted(model)


def test_masked_lm_head_is_tied_and_its_transform_listed(tmp_path):
    import torch
    from transformers import AutoConfig, AutoModelForMaskedLM
    from adapters import open_model
    torch.manual_seed(0)
    hf = AutoModelForMaskedLM.from_config(AutoConfig.for_model("distilbert", **TINY), attn_implementation="eager")
    hf.save_pretrained(tmp_path)
    model = open_model(str(tmp_path))
    assert model.arch == "distilbert" and model.has("unembed.W_U") and model.has("unembed.b_U")
    assert model.ignored["vocab_transform.weight"][0] == "unembed"
    check_forward(hf.eval(), model, SPEC)
    assert_all_accounted(model)
