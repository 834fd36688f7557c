"""One registry of families, and the order in which a checkpoint's tensor layout is matched against them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from .config import Note
from .family import Family
from .layout import suffixes

FAMILIES: dict[str, type[Family]] = {}  # arch -> family, every module in adapters/families/ adds its own
BY_MODEL_TYPE: dict[str, type[Family]] = {}  # config.json model_type -> the family it hints at

# Layout detection tries families in this order and takes the first whose layout fits: most specific first, so
# a family comes before any whose required names are a subset of its own (Qwen3 before Llama). A family not listed
# shares its layout with one listed (Mistral and Gemma store Llama's names) and is chosen only when config.json's
# model_type names it.
DETECTION_ORDER = (
    # Hybrids first: their attention layers store a plain decoder's names, their other layers a mixer no
    # plain decoder has (adapters/hybrid.py)
    "jamba",  # Mamba (x_proj, dt_proj) layers, Llama's attention in some, experts under feed_forward
    "bamba",  # Jamba's layer names with Mamba2 mixers (dt_bias) and no experts (Falcon-H1: the same names)
    "qwen4_exp_text",  # Qwen3.5's names on hyper-connections (attn_/mlp_hyper_connection), no input norms
    "qwen3_next",  # Gated DeltaNet (linear_attn.in_proj_qkvz) layers, gated attention in the others
    "qwen3_5",  # Qwen3-Next with linear_attn.in_proj_qkv and in_proj_z
    "nemotron_h",  # one mixer per layer under mixer.*, one norm per layer, final norm_f
    "granitemoehybrid",  # Mamba2 (dt_bias) layers beside Granite attention, a shared_mlp in every layer
    "lfm3",  # LFM2's names + post_operator_norm / post_ffn_norm and a per-head gate self_attn.gate_proj
    "lfm2",  # short-convolution layers; operator_norm, ffn_norm, feed_forward.w1/w2/w3, embedding_norm last
    "recurrent_gemma",  # RG-LRU or attention under temporal_block, temporal/channel_pre_norm, final_norm
    "olmo_hybrid",  # Gated DeltaNet layers (linear_attn.a_proj, b_proj) beside OLMo2's attention
    "flex_olmo",  # OLMo2's names with experts under mlp
    "olmo2",  # Llama's projections; norms only after each sublayer, q/k normed over the whole projection
    "gemma3",  # Llama's names + per-head q/k norms + a norm before and after the MLP
    "olmo",  # Llama's projections, no norm weights at all
    "qwen3",  # Llama's names + per-head q/k norms
    "gemma2",  # Llama's names + a norm before and after the MLP
    "qwen2",  # Llama's names + q, k, v biases without an o bias
    "starcoder2",  # Llama's attention names, a plain c_fc/c_proj MLP
    "vaultgemma",  # Llama's names with pre_feedforward_layernorm in place of post_attention_layernorm
    "jais2",  # Llama's attention, up/down MLP without a gate, LayerNorms with biases
    "arcee",  # Llama's attention, up/down MLP without a gate
    "cohere",  # Llama's names without post_attention_layernorm: attention and MLP share one norm
    "phimoe",  # Mixtral's names + LayerNorm biases
    "minimax",  # Mixtral's names in softmax layers + lightning-attention layers (self_attn.output_gate)
    "kimi_linear",  # Mixtral's names + self_attn.f_a_proj / A_log (linear layers) and DeepSeek's MLA in others
    "mixtral",  # Llama's attention, experts under block_sparse_moe
    "granitemoe_swa",  # Llama's attention + per-head sinks, fused experts under block_sparse_moe
    "granitemoe",  # Llama's attention, fused experts and router.layer under block_sparse_moe
    "llama4_text",  # Llama's attention, fused experts and a shared expert under feed_forward
    "aria_text",  # Llama's attention, fused [in, out] experts (fc1/fc2) and shared_experts under mlp
    "ernie4_5_moe",  # Llama's attention, experts under mlp, the selection bias under mlp.moe_statics
    "lara_mini",  # Qwen3-MoE's names in softmax layers + linear_attn layers, an ungated shared_expert
    "qwen3_moe",  # Llama's attention + per-head q/k norms, experts under mlp (OLMoE: the same names)
    "qwen2_moe",  # Llama's attention, experts under mlp and a gated shared_expert
    "glm4_moe",  # Llama's attention, experts under mlp and ungated shared_experts (DeepSeek-V3's)
    "sarvam_moe",  # GLM-4-MoE's experts under word_embeddings and a fused attention.query_key_value
    "cohere2_moe",  # Cohere's names (one norm per layer) with experts under mlp
    "axk2",  # DeepSeek-V3.2's names + gated input norms (input_layernorm.W_down / W_up)
    "deepseek_v32",  # DeepSeek-V3's names + the lightning indexer
    "deepseek_v3",  # DeepSeek-V2's names + the router's e_score_correction_bias (GLM-4.7-Flash: the same names)
    "deepseek_v2",  # multi-head latent attention (kv_a_proj_with_mqa, kv_b_proj), experts with shared_experts
    "mimo_v2_flash",  # Llama's attention (values wider than keys) + attention_sink_bias in windowed layers
    "gpt_oss",  # Llama's attention + per-head sinks, fused experts under mlp.experts, router under mlp.router
    "apertus",  # Llama's attention + per-head q/k norms, attention_layernorm/feedforward_layernorm, up/down MLP
    "jetmoe",  # experts under self_attention.experts (queries, outputs) and mlp (input_linear, output_linear)
    "cpmant",  # encoder.layers.{l}.self_att.self_attention.project_q/k/v, ffn.ffn.w_in.w_0/w_1
    "molmo2_text",  # wte.embedding + new_embedding, fused att_proj and ff_proj under layers.{l}
    "moshi",  # Llama's computation, projections under .linear, gate and up fused in mlp.fc1
    "nanochat",  # Llama's attention, fc1/fc2 MLP, no norm weights at all
    "llama",  # also Granite and other decoders stored under Llama's names
    "glm4",  # Llama's attention, fused gate_up_proj, norms after each sublayer too
    "glm",  # Llama's attention, fused gate_up_proj
    "phi3",  # fused qkv_proj and gate_up_proj
    "phi",  # Llama's q/k/v names, a `dense` output, fc1/fc2 and one shared norm per layer
    "switch_transformers",  # T5's names + routers and experts in every other MLP
    "t5",  # an encoder and a decoder stack, bias-free q/k/v/o, a relative position bias in block 0
    "longt5",  # T5's decoder; the encoder's attention named Local- or TransientGlobalSelfAttention
    "clip",  # text_model. and vision_model. towers in one checkpoint (CLIP, SigLIP)
    "clip_text",  # token embeddings, encoder.layers.{l}.self_attn.*, final_layer_norm
    "clip_vision",  # a patch conv, position_embedding, encoder.layers.{l}.self_attn.*
    "beit",  # ViT's names + layer scale lambda_1/lambda_2 (and relative position biases)
    "dinov2",  # a patch conv, norm1/norm2 and layer_scale1/2
    "vit",  # a patch conv and layernorm_before/after (DeiT, ViT-MSN, I-JEPA)
    "convbert",  # BERT's names + a dynamic convolution beside the attention heads
    "mpnet",  # BERT's embeddings, attention.attn.q/k/v/o and a shared relative position bias
    "roberta",  # BERT's names under 'roberta.', or with RoBERTa's lm_head
    "bert",
    "persimmon",  # self_attn.query_key_value and self_attn.dense under Llama's layer names
    "bloom",  # fused query_key_value + a norm on the embeddings
    "falcon",  # fused query_key_value, no embedding norm
    "neox",
    "nllb_moe",  # BART's attention names, the decoder's cross_attention, ffn.* (experts in sparse layers)
    "bart",  # OPT's names + an encoder, and the decoder's encoder_attn
    "opt",
    "biogpt",  # OPT's layer names without 'decoder.', learned embed_positions
    "xglm",  # OPT's layer names without 'decoder.', sinusoidal positions
    "gptj",  # separate bias-free q/k/v/out_proj under h.{l}.attn, fc_in/fc_out, one ln_1 per layer
    "codegen",  # GPT-J's layer with q, v, k fused in qkv_proj
    "mpt",  # fused Wqkv under blocks.{l}.attn, ffn.up_proj/down_proj, norm_1/norm_2
    "distilbert",  # q_lin/k_lin/v_lin/out_lin under transformer.layer.{l}.attention
    "deberta_v2",  # BERT's body, q/k/v named query_proj/key_proj/value_proj
    "deberta",  # BERT's body, q/k/v fused per head in attention.self.in_proj
    "modernbert",  # embeddings.tok_embeddings, fused attn.Wqkv, GeGLU mlp.Wi
    "albert",  # BERT-like layers shared in encoder.albert_layer_groups
    "xlm",  # attentions.{l}.q_lin, ffns.{l}.lin1, layer_norm1.{l}: one list per kind of module
    "nomic_bert",  # BERT's embeddings, encoder.layers.{l}.attn.Wqkv, gated mlp.fc11/fc12
    "jina_embeddings_v3",  # BERT's embeddings, encoder.layers.{l}.mixer.Wqkv
    "gte",  # BERT's embeddings, encoder.layer.{l}.attention.qkv_proj, mlp.up_gate_proj
    "modernbert_decoder",  # ModernBERT's names with attn.q_proj/k_proj/v_proj
    "openai_gpt",  # GPT-2's layer names under tokens_embed
    "exaone",  # Llama's computation under h.{l}.attn.attention and mlp.c_fc_0/c_fc_1
    "ctrl",  # h.{l}.multi_head_attention.Wq/Wk/Wv/dense, ffn.0/ffn.2, embeddings under w
    "xlnet",  # per-head einsum operands rel_attn.q/k/v/o and Transformer-XL's relative position terms
    "tipsv2_text",  # OpenCLIP's text names: resblocks.{l}.attn.in_proj_weight, mlp.c_fc
    "gpt2",
)
FALLBACK = "generic"  # raw tensors only, when no layout fits


def register(family: type[Family]) -> type[Family]:
    """Class decorator: make a family findable by its arch and model_types (each claimed by one family only)."""
    claims = [(family.arch, FAMILIES), *((t, BY_MODEL_TYPE) for t in family.model_types)]
    taken = [key for key, table in claims if key in table and table[key] is not family]
    if taken:
        raise ValueError(f"{family.__name__} claims {taken[0]!r}, which another family registered")
    FAMILIES[family.arch] = family
    BY_MODEL_TYPE.update(dict.fromkeys(family.model_types, family))
    return family


@dataclass(frozen=True)
class Detected:
    """The family that reads a checkpoint, and what the reader should know about how it was chosen."""
    family: type[Family]
    notes: tuple[Note, ...] = ()


def by_layout(seen: frozenset[str], hf: dict | None) -> type[Family] | None:
    """The first family in DETECTION_ORDER whose layout fits the checkpoint's `suffixes`; None if none does."""
    return next((FAMILIES[a] for a in DETECTION_ORDER if FAMILIES[a].layout.mismatch(seen, hf) is None), None)


def detect(hf: dict | None, names: Iterable[str]) -> Detected:
    """Choose the family by tensor layout, with config.json's model_type as a hint.

    - model_type names a family whose layout fits: that family (Mistral, Gemma: only this way).
    - Otherwise the first family in DETECTION_ORDER whose layout fits, with a read-as note when config.json
      names a model_type (an unknown one, like granite with Llama's names, or one whose tensors do not fit).
    - Nothing fits: the generic fallback (raw tensors only).
    """
    seen = suffixes(names)
    model_type = (hf or {}).get("model_type")
    named = BY_MODEL_TYPE.get(model_type)
    why_not = named.layout.mismatch(seen, hf, named=True) if named else None
    if named and why_not is None:
        return Detected(named)
    found = by_layout(seen, hf)
    if named:
        text = (f"config.json names model_type {model_type!r}, but the tensors do not fit {named.arch}'s layout "
                f"({why_not}); " + (f"they fit {found.arch}'s, so the model is read as {found.arch}." if found
                                    else "no other family's layout fits either."))
    elif model_type is not None and found:
        text = (f"No adapter is named for model_type {model_type!r}; its tensors are laid out as {found.arch}'s, "
                f"so it is read as {found.arch} (what its own config changes in the computation, such as scales "
                f"or multipliers, is not taken into account).")
    else:
        text = ""
    return Detected(found or FAMILIES[FALLBACK], (Note("read-as", text),) if text else ())
