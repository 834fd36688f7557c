"""The common schema: every adapter maps its checkpoint onto these names and shapes.

Names and shapes follow TransformerLens. `x` is the vector entering the attention or MLP
(after its norm where the norm comes first):
    q_h = x @ W_Q[h] + b_Q[h]          k_h, v_h likewise with W_K, W_V (n_kv_heads of them)
    out = sum_h z_h @ W_O[h] + b_O      z_h = softmax(q_h k_h^T / sqrt(d_head)) v_h
    mlp = act(x @ W_in + b_in) @ W_out + b_out
    gated mlp = (act(x @ W_gate) * (x @ W_in + b_in)) @ W_out + b_out
A slot the architecture lacks is absent, never zero-filled.
"""
from __future__ import annotations

import re

# template -> (shape, meaning). Shapes are in ModelConfig's names.
SLOTS: dict[str, tuple[str, str]] = {
    "embed.W_E": ("[d_vocab, d_model]", "token embedding"),
    "embed.ln.w": ("[d_model]", "norm applied to the embeddings (BERT, Bloom)"),
    "embed.ln.b": ("[d_model]", "bias of that norm"),
    "token_type_embed.W_token_type": ("[n_types, d_model]", "segment embedding (BERT)"),
    "pos_embed.W_pos": ("[n_ctx, d_model]", "learned positional embedding, row i = position i"),
    "blocks.{l}.ln1.w": ("[d_model]", "norm around attention (before it if pre-norm, after if post-norm)"),
    "blocks.{l}.ln1.b": ("[d_model]", "bias of that norm (absent for RMSNorm)"),
    "blocks.{l}.ln2.w": ("[d_model]", "norm around the MLP"),
    "blocks.{l}.ln2.b": ("[d_model]", "bias of that norm"),
    # Gemma2 norms each sublayer's output too, before it joins the residual stream (ln1/ln2 stay the input norms).
    "blocks.{l}.ln1_post.w": ("[d_model]", "norm on the attention output (Gemma2)"),
    "blocks.{l}.ln2_post.w": ("[d_model]", "norm on the MLP output (Gemma2)"),
    "blocks.{l}.attn.W_Q": ("[n_heads, d_model, d_head]", "query weights per head"),
    "blocks.{l}.attn.W_K": ("[n_kv_heads, d_model, d_head]", "key weights per key/value head"),
    "blocks.{l}.attn.W_V": ("[n_kv_heads, d_model, d_head]", "value weights per key/value head"),
    "blocks.{l}.attn.W_O": ("[n_heads, d_head, d_model]", "output weights per head"),
    "blocks.{l}.attn.b_Q": ("[n_heads, d_head]", "query bias"),
    "blocks.{l}.attn.b_K": ("[n_kv_heads, d_head]", "key bias"),
    "blocks.{l}.attn.b_V": ("[n_kv_heads, d_head]", "value bias"),
    "blocks.{l}.attn.b_O": ("[d_model]", "output bias"),
    "blocks.{l}.attn.q_norm.w": ("[d_head]", "per-head RMSNorm on queries (Qwen3, Gemma3)"),
    "blocks.{l}.attn.k_norm.w": ("[d_head]", "per-head RMSNorm on keys"),
    "blocks.{l}.mlp.W_in": ("[d_model, d_mlp]", "MLP input (the 'up' projection when gated)"),
    "blocks.{l}.mlp.W_gate": ("[d_model, d_mlp]", "MLP gate (gated MLPs only)"),
    "blocks.{l}.mlp.W_out": ("[d_mlp, d_model]", "MLP output"),
    "blocks.{l}.mlp.b_in": ("[d_mlp]", "MLP input bias"),
    "blocks.{l}.mlp.b_out": ("[d_model]", "MLP output bias"),
    "ln_final.w": ("[d_model]", "final norm"),
    "ln_final.b": ("[d_model]", "final norm bias"),
    "unembed.W_U": ("[d_model, d_vocab]", "logits = x @ W_U + b_U"),
    "unembed.b_U": ("[d_vocab]", "logit bias"),
}
HEAD_SLOTS = {"attn.W_Q", "attn.W_K", "attn.W_V", "attn.W_O", "attn.b_Q", "attn.b_K", "attn.b_V"}

CATEGORIES = {  # key -> label shown to users
    "embedding": "token embedding",
    "positional": "positional embedding",
    "attention": "attention",
    "mlp": "feed-forward",
    "norm": "norm",
    "unembed": "unembedding",
    "other": "other",
    "buffer": "buffer (not a parameter)",
}

_LAYER = re.compile(r"^blocks\.(\d+)\.(.+)$")


def split_layer(name: str) -> tuple[int | None, str]:
    """'blocks.3.attn.W_Q' -> (3, 'attn.W_Q'); 'embed.W_E' -> (None, 'embed.W_E')."""
    m = _LAYER.match(name)
    return (int(m.group(1)), m.group(2)) if m else (None, name)


def template_of(name: str) -> str:
    layer, slot = split_layer(name)
    return slot if layer is None else f"blocks.{{l}}.{slot}"


def category(name: str) -> str:
    """The category of a schema name (a key of CATEGORIES)."""
    _, slot = split_layer(name)
    if slot.startswith(("embed.ln", "ln", "attn.q_norm", "attn.k_norm")):
        return "norm"
    if slot.startswith(("embed.", "token_type_embed")):
        return "embedding"
    if slot.startswith("pos_embed"):
        return "positional"
    if slot.startswith("attn."):
        return "attention"
    if slot.startswith("mlp."):
        return "mlp"
    if slot.startswith("unembed"):
        return "unembed"
    return "other"


_KEYWORDS = [  # for checkpoints no adapter understands: guess a raw tensor's category by its name
    ("buffer", r"(inv_freq|position_ids|masked_bias|\.attn\.bias$|attention\.bias$|_cache)"),
    ("norm", r"(norm|ln_|\.ln\d|layernorm|layer_norm)"),
    ("positional", r"(pos|position|wpe)"),
    ("unembed", r"(lm_head|embed_out|output\.weight$|unembed|decoder\.weight$)"),
    ("embedding", r"(embed|wte|tok_embeddings|word_emb|shared\.weight)"),
    ("attention", r"(attn|attention|q_proj|k_proj|v_proj|o_proj|qkv|query|key|value|wq|wk|wv|wo)"),
    ("mlp", r"(mlp|ffn|fc\d|feed_forward|intermediate|dense_h_to_4h|dense_4h_to_h|w1|w2|w3|up_proj|down_proj|gate)"),
]


def guess_category(raw_name: str) -> str:
    low = raw_name.lower()
    for cat, pattern in _KEYWORDS:
        if re.search(pattern, low):
            return cat
    return "other"


def guess_layer(raw_name: str) -> int | None:
    """The first '.<digits>.' in a raw name is the layer in every common naming scheme."""
    m = re.search(r"\.(\d+)\.", "." + raw_name)
    return int(m.group(1)) if m else None
