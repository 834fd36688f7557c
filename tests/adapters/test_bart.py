"""BART and the encoder-decoders that store its names, against their own forward pass (harness_encdec)."""
import numpy as np
import pytest
import torch

from adapters import open_model
from tests.adapters.harness import assert_all_accounted
from tests.adapters.harness_encdec import EncDecSpec, StackSpec, build_seq2seq, check_forward

TINY = dict(d_model=32, encoder_layers=2, decoder_layers=3, encoder_attention_heads=4, decoder_attention_heads=4,
            encoder_ffn_dim=48, decoder_ffn_dim=48, vocab_size=61, max_position_embeddings=40,
            pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=2)  # ids inside the tiny vocab


def spec(prefix: str = "model.", embed_norm: bool = True, final_norm: str | None = None) -> EncDecSpec:
    def stack(own: str, decoder: bool) -> StackSpec:
        layer = f"{prefix}{own}.layers.{{l}}."
        norms = {"ln1.w": layer + "self_attn_layer_norm", "ln2.w": layer + "final_layer_norm"}
        if decoder:
            norms["ln_cross.w"] = layer + "encoder_attn_layer_norm"
        if embed_norm:
            norms["embed.ln.w"] = f"{prefix}{own}.layernorm_embedding"
        if final_norm:
            norms["ln_final.w"] = f"{prefix}{own}.{final_norm}"
        return StackSpec(attn=layer + "self_attn", mlp=layer + "fc1", mlp_out=layer + "fc2",
                         cross=layer + "encoder_attn" if decoder else None, norms=norms)
    return EncDecSpec(encoder=stack("encoder", False), decoder=stack("decoder", True))


CASES = {  # model_type -> (norm_position, pos_offset, positional, has layernorm_embedding, final norm module)
    "bart": ("post", 2, "learned", True, None),
    "mbart": ("pre", 2, "learned", True, "layer_norm"),
    "marian": ("post", 0, "sinusoidal", False, None),
    "pegasus": ("pre", 0, "sinusoidal", False, "layer_norm"),
    "blenderbot": ("pre", 0, "learned", False, "layer_norm"),
    "blenderbot-small": ("post", 0, "learned", True, None),
    "m2m_100": ("pre", 2, "sinusoidal", False, "layer_norm"),
    "plbart": ("post", 2, "learned", True, None),
}


@pytest.mark.parametrize("model_type", sorted(CASES))
def test_tiny_model_matches_forward_pass(model_type, tmp_path):
    norm_position, offset, positional, embed_norm, final_norm = CASES[model_type]
    hf, model = build_seq2seq(model_type, tmp_path, **TINY)
    c = model.cfg
    assert model.arch == model_type and model.stacks() == ["blocks", "encoder"]
    assert (c.n_layers, c.n_encoder_layers, c.n_heads, c.d_head, c.d_mlp) == (3, 2, 4, 8, 48)
    assert (c.norm_position, c.pos_offset, c.positional) == (norm_position, offset, positional)
    check_forward(hf, model, spec(embed_norm=embed_norm, final_norm=final_norm))
    if model.has("encoder.pos_embed.W_pos"):  # M2M100 computes its sinusoids: nothing stored to check
        check_embeddings(hf, model, embed_norm)
    assert_all_accounted(model)


def check_embeddings(hf, model, embed_norm: bool, seq: int = 9) -> None:
    """The encoder's input: (W_E[ids] * embed_scale + W_pos[:seq]), then the embedding norm where there is one;
    this checks the position offset and the embedding scale."""
    ids = torch.randint(3, model.cfg.d_vocab, (1, seq))
    with torch.no_grad():
        out = hf.get_encoder()(input_ids=ids, output_hidden_states=True)
    x = model.weight("embed.W_E")[ids[0].numpy()] * model.cfg.embed_scale
    if model.has("encoder.pos_embed.W_pos"):
        x = x + model.weight("encoder.pos_embed.W_pos")[:seq]
    if embed_norm:
        x = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
        x = x * model.weight("encoder.embed.ln.w") + model.weight("encoder.embed.ln.b")
    np.testing.assert_allclose(x, out.hidden_states[0][0].numpy(), atol=1e-4, err_msg="encoder input")


def test_scaled_embeddings(tmp_path):
    hf, model = build_seq2seq("pegasus", tmp_path, scale_embedding=True, **TINY)
    assert model.cfg.embed_scale == pytest.approx(32 ** 0.5)
    check_embeddings(hf, model, embed_norm=False)


def test_opens_without_config_by_layout_alone(tmp_path):
    _, model = build_seq2seq("bart", tmp_path, **TINY)
    (tmp_path / "config.json").unlink()
    bare = open_model(str(tmp_path / "model.safetensors"), n_heads=4)
    c = bare.cfg
    assert bare.arch == "bart" and (c.n_layers, c.n_encoder_layers, c.d_head, c.norm_position) == (3, 2, 8, "post")
    assert any(n.kind == "read-as" for n in c.notes)
    assert set(bare.names()) == set(model.names())
    for name in ("encoder.1.attn.W_Q", "blocks.2.cross_attn.b_V", "pos_embed.W_pos", "unembed.b_U"):
        np.testing.assert_array_equal(bare.weight(name), model.weight(name))
    assert_all_accounted(bare)


def test_causal_lm_checkpoint_is_the_decoder(tmp_path):
    from transformers import AutoConfig, BartForCausalLM
    torch.manual_seed(0)
    BartForCausalLM(AutoConfig.for_model("bart", **TINY)).save_pretrained(tmp_path)
    model = open_model(str(tmp_path))
    assert model.arch == "bart" and model.stacks() == ["blocks"] and model.cfg.n_layers == 3
    assert model.has("blocks.0.cross_attn.W_Q") and model.cfg.n_encoder_layers is None
    assert_all_accounted(model)


def test_fsmt_has_two_vocabularies(tmp_path):
    from transformers import AutoConfig, FSMTForConditionalGeneration
    torch.manual_seed(0)
    cfg = AutoConfig.for_model("fsmt", d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
                               decoder_attention_heads=4, encoder_ffn_dim=48, decoder_ffn_dim=48, src_vocab_size=50,
                               tgt_vocab_size=70, max_position_embeddings=40, langs=["en", "de"])
    hf = FSMTForConditionalGeneration(cfg).eval()
    hf.save_pretrained(tmp_path)
    model = open_model(str(tmp_path))
    assert model.arch == "fsmt" and model.cfg.pos_offset == 2 and model.cfg.norm_position == "post"
    assert model.weight("encoder.embed.W_E").shape == (50, 32) and model.weight("embed.W_E").shape == (70, 32)
    np.testing.assert_array_equal(model.weight("unembed.W_U"), hf.model.decoder.output_projection.weight.detach().numpy().T)
    assert_all_accounted(model)
