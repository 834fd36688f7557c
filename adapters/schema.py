"""The common schema: every adapter maps its checkpoint onto these names and shapes.

Names and shapes follow TransformerLens. `x` is the vector entering the attention or MLP
(after its norm where the norm comes first):
    q_h = x @ W_Q[h] + b_Q[h]          k_h, v_h likewise with W_K, W_V (n_kv_heads of them)
    out = sum_h z_h @ W_O[h] + b_O      z_h = softmax(q_h k_h^T / sqrt(d_head)) v_h
    mlp = act(x @ W_in + b_in) @ W_out + b_out
    gated mlp = (act(x @ W_gate) * (x @ W_in + b_in)) @ W_out + b_out
A slot the architecture lacks is absent, never zero-filled.

A name is a `Key`: (stack, layer, slot). It is written `blocks.3.attn.W_Q` for a layer of the
main stack and `embed.W_E` for a slot outside the layers. Only this module builds or parses the
written form (`name`, `parse`); everything else passes keys or calls these two.

Room for more than one stack of one kind of layer (the next architectures fill these in):
- A second stack is another `stack`: `encoder.2.attn.W_Q` is layer 2 of an encoder-decoder
  model's encoder, whose decoder is `blocks`; `vision.0.mlp.W_in` a vision tower beside a text
  stack. A stack's own global slots carry its name too (`encoder.ln_final.w`).
- Cross-attention is its own sublayer, `cross_attn.*`, with attn's per-head shapes (queries from
  the decoder's residual stream, keys and values from the encoder's output).
- Mixture-of-experts layers keep the expert index inside the array: `mlp.experts.W_in` is
  `[n_experts, d_model, d_mlp]`, one slot for every expert, beside the router `mlp.W_router`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

MAIN = "blocks"  # the main stack: a decoder, or the only stack of an encoder-only model
STACKS = {
    MAIN: "the model's layers (a decoder-only or encoder-only model, or an encoder-decoder's decoder)",
    "encoder": "an encoder-decoder model's encoder (T5, BART, Whisper), beside its decoder in `blocks`",
    "vision": "a vision tower beside the text stack (vision-language models)",
}

# slot outside the layers -> (shape, meaning). Shapes are in ModelConfig's names.
GLOBAL_SLOTS: dict[str, tuple[str, str]] = {
    "embed.W_E": ("[d_vocab, d_model]", "token embedding"),
    "embed.ln.w": ("[d_model]", "norm applied to the embeddings (BERT, Bloom)"),
    "embed.ln.b": ("[d_model]", "bias of that norm"),
    "token_type_embed.W_token_type": ("[n_types, d_model]", "segment embedding (BERT)"),
    "pos_embed.W_pos": ("[n_ctx, d_model]", "learned positional embedding, row i = position i (a vision "
                        "transformer's: its n_prefix_tokens rows first, then the patch grid row by row)"),
    # T5: a learned bias added to every head's attention scores, looked up by the bucket of the distance
    # key - query (bidirectional buckets in an encoder, causal in a decoder); stored once per stack.
    "pos_embed.W_rel": ("[n_buckets, n_heads]", "relative position bias per distance bucket and head (T5)"),
    # Vision transformers: the image enters as patches, each flattened through a conv with stride = size.
    "embed.W_patch": ("[d_model, n_channels, patch_size, patch_size]", "patch embedding: one filter per "
                      "model dimension, as the conv stores it"),
    "embed.b_patch": ("[d_model]", "patch embedding bias"),
    "embed.cls": ("[d_model]", "the class token, prepended to the patches (ViT, CLIP's vision tower)"),
    "embed.distill": ("[d_model]", "the distillation token after the class token (DeiT)"),
    "embed.registers": ("[n_registers, d_model]", "register tokens after the class token (DINOv2 registers)"),
    "embed.mask": ("[d_model]", "the token that replaces masked patches in training (BEiT, DINOv2)"),
    "ln_final.w": ("[d_model]", "final norm"),
    "ln_final.b": ("[d_model]", "final norm bias"),
    "unembed.W_U": ("[d_model, d_vocab]", "logits = x @ W_U + b_U"),
    "unembed.b_U": ("[d_vocab]", "logit bias"),
}
# slot of every layer -> (shape, meaning), in the order pages list them
LAYER_SLOTS: dict[str, tuple[str, str]] = {
    "ln1.w": ("[d_model]", "norm around attention (before it if pre-norm, after if post-norm)"),
    "ln1.b": ("[d_model]", "bias of that norm (absent for RMSNorm)"),
    "ln2.w": ("[d_model]", "norm around the MLP"),
    "ln2.b": ("[d_model]", "bias of that norm"),
    # Gemma2 norms each sublayer's output too, before it joins the residual stream (ln1/ln2 stay the input norms).
    "ln1_post.w": ("[d_model]", "norm on the attention output (Gemma2)"),
    "ln2_post.w": ("[d_model]", "norm on the MLP output (Gemma2)"),
    # A gated norm (AXK2): y = RMSNorm(x), then y * sigmoid(silu(y @ W_gate_in) @ W_gate_out), a low-rank gate.
    "ln1.W_gate_in": ("[d_model, d_norm_gate]", "a gated input norm's low-rank gate, in (AXK2)"),
    "ln1.W_gate_out": ("[d_norm_gate, d_model]", "that gate's output: sigmoid of it scales the norm's output"),
    "ln2.W_gate_in": ("[d_model, d_norm_gate]", "the gated pre-MLP norm's low-rank gate, in (AXK2)"),
    "ln2.W_gate_out": ("[d_norm_gate, d_model]", "that gate's output"),
    "attn.W_Q": ("[n_heads, d_model, d_head]", "query weights per head"),
    "attn.W_K": ("[n_kv_heads, d_model, d_head]", "key weights per key/value head"),
    "attn.W_V": ("[n_kv_heads, d_model, d_head]", "value weights per key/value head"),
    "attn.W_O": ("[n_heads, d_head, d_model]", "output weights per head"),
    "attn.b_Q": ("[n_heads, d_head]", "query bias"),
    "attn.b_K": ("[n_kv_heads, d_head]", "key bias"),
    "attn.b_V": ("[n_kv_heads, d_head]", "value bias"),
    "attn.b_O": ("[d_model]", "output bias"),
    # [d_head] when one norm is shared by every head (cfg.qk_norm == "head": Qwen3, Gemma3); [n_heads, d_head]
    # (k: [n_kv_heads, d_head]) when the norm runs over the whole projection (cfg.qk_norm == "projection": OLMo2)
    "attn.q_norm.w": ("[d_head] | [n_heads, d_head]", "RMSNorm on queries, before rotary (Qwen3, Gemma3, OLMo2)"),
    "attn.k_norm.w": ("[d_head] | [n_kv_heads, d_head]", "RMSNorm on keys, before rotary"),
    # cfg.qk_norm == "head_layernorm" (Persimmon): q and k pass a LayerNorm over each head, shared by every head,
    # whose bias is these; cfg.qk_norm == "head_plain" (NanoChat): an RMSNorm per head with no weight, so no slot.
    "attn.q_norm.b": ("[d_head]", "bias of the LayerNorm on queries (Persimmon)"),
    "attn.k_norm.b": ("[d_head]", "bias of the LayerNorm on keys"),
    # Gated attention (Qwen3-Next, Qwen3.5): each head's output is scaled elementwise before W_O,
    # z_h *= sigmoid(x @ W_gate[h]); stored beside the queries in q_proj, one (query, gate) pair per head.
    "attn.W_gate": ("[n_heads, d_model, d_head]", "output gate per head: z_h * sigmoid(x @ W_gate[h]) enters W_O"),
    # LFM3: one gate value per head and token, not per head dimension: z_h *= sigmoid(x @ W_gate_head[h]).
    "attn.W_gate_head": ("[n_heads, d_model]", "scalar output gate per head: z_h * sigmoid(x @ W_gate_head[h])"),
    "attn.W_rel": ("[n_buckets, n_heads]", "this layer's own relative position bias (UMT5), as pos_embed.W_rel"),
    "attn.sinks": ("[n_heads]", "a learned logit per head in its softmax's denominator: the head may attend "
                                "to nothing (gpt-oss)"),
    # Mixture of attention (JetMoE): a router picks n_experts_per_token attention experts per token; attn.W_Q and
    # W_O hold every expert's heads, and only the chosen experts' heads run, their outputs weighted by the router.
    "attn.W_router": ("[d_model, n_experts]", "mixture of attention: the router's logits per attention expert"),
    # Multi-head latent attention (DeepSeek-V2/V3): queries and keys/values pass through low-rank factors
    # with an RMSNorm between, and each head's q/k split into a no-rope part (d_head - d_head_rope) and a
    # rotary part (d_head_rope; the key's is one shared by every head). Per-head products across the norm
    # are not exact, so these slots stay factors; W_O is the usual per-head output.
    "attn.W_Q_a": ("[d_model, q_lora_rank]", "MLA: queries' down-projection"),
    "attn.q_a_norm.w": ("[q_lora_rank]", "MLA: RMSNorm on the query latent"),
    "attn.W_Q_b": ("[n_heads, q_lora_rank, d_head]", "MLA: queries per head from the latent (no-rope part "
                   "first, then the rotary part); [n_heads, d_model, d_head] is attn.W_Q when q_lora_rank is None"),
    "attn.W_KV_a": ("[d_model, kv_lora_rank]", "MLA: keys' and values' shared down-projection (the cached latent)"),
    "attn.W_K_rope": ("[d_model, d_head_rope]", "MLA: the rotary key, one for all heads"),
    "attn.kv_a_norm.w": ("[kv_lora_rank]", "MLA: RMSNorm on the latent"),
    "attn.W_K_b": ("[n_heads, kv_lora_rank, d_head - d_head_rope]", "MLA: keys per head from the latent"),
    "attn.W_V_b": ("[n_heads, kv_lora_rank, d_head_v]", "MLA: values per head from the latent"),
    # AXK2: queries and a per-head output gate from the query latent both normed and not, [norm(c), c] @ ...:
    # W_Q_b reads the normed latent, W_Q_b_raw the raw one (their sum is q); the gate likewise, and each head's
    # attention output is multiplied by sigmoid(gate) before W_O.
    "attn.W_Q_b_raw": ("[n_heads, q_lora_rank, d_head]", "AXK2: queries per head from the un-normed query latent"),
    "attn.W_gate_b": ("[n_heads, q_lora_rank, d_head_v]", "AXK2: output gate per head from the normed query latent"),
    "attn.W_gate_b_raw": ("[n_heads, q_lora_rank, d_head_v]", "AXK2: output gate per head from the raw latent"),
    "cross_attn.W_Q": ("[n_heads, d_model, d_head]", "cross-attention queries, from the decoder's stream"),
    "cross_attn.W_K": ("[n_kv_heads, d_model, d_head]", "cross-attention keys, from the encoder's output"),
    "cross_attn.W_V": ("[n_kv_heads, d_model, d_head]", "cross-attention values, from the encoder's output"),
    "cross_attn.W_O": ("[n_heads, d_head, d_model]", "cross-attention output weights per head"),
    "cross_attn.b_Q": ("[n_heads, d_head]", "cross-attention query bias"),
    "cross_attn.b_K": ("[n_kv_heads, d_head]", "cross-attention key bias"),
    "cross_attn.b_V": ("[n_kv_heads, d_head]", "cross-attention value bias"),
    "cross_attn.b_O": ("[d_model]", "cross-attention output bias"),
    "ln_cross.w": ("[d_model]", "norm around cross-attention"),
    "ln_cross.b": ("[d_model]", "bias of that norm"),
    # Layer scale (DINOv2, BEiT, CaiT): each sublayer's output is multiplied per channel before it joins the
    # residual stream: x = x + ls * attn(ln1(x)). W_O and W_out stay the sublayer's own; the scale is apart.
    "attn.ls": ("[d_model]", "layer scale on the attention output, per channel"),
    "mlp.ls": ("[d_model]", "layer scale on the MLP output, per channel"),
    "mlp.W_in": ("[d_model, d_mlp]", "MLP input (the 'up' projection when gated)"),
    "mlp.W_gate": ("[d_model, d_mlp]", "MLP gate (gated MLPs only)"),
    "mlp.W_out": ("[d_mlp, d_model]", "MLP output"),
    "mlp.b_in": ("[d_mlp]", "MLP input bias"),
    "mlp.b_out": ("[d_model]", "MLP output bias"),
    # Mixture of experts: router logits = x @ W_router + b_router; each token's top n_experts_per_token
    # experts run, their outputs weighted by the (renormalised) softmax of those logits. d_expert is one
    # expert's width. Read one expert with Model.weight(name, expert=e): [d_model, d_expert].
    "mlp.W_router": ("[d_model, n_experts]", "mixture of experts: the router's logits per expert"),
    "mlp.b_router": ("[n_experts]", "the router's bias"),
    "mlp.router_select_bias": ("[n_experts]", "added to the router's scores to choose experts, not to weight "
                               "them (DeepSeek-V3's load balancing)"),
    "mlp.experts.W_in": ("[n_experts, d_model, d_expert]", "every expert's MLP input, expert index first"),
    "mlp.experts.W_gate": ("[n_experts, d_model, d_expert]", "every expert's gate"),
    "mlp.experts.W_out": ("[n_experts, d_expert, d_model]", "every expert's MLP output"),
    "mlp.experts.b_in": ("[n_experts, d_expert]", "every expert's input bias"),
    "mlp.experts.b_gate": ("[n_experts, d_expert]", "every expert's gate bias"),
    "mlp.experts.b_out": ("[n_experts, d_model]", "every expert's output bias"),
    # Shared experts: an MLP every token uses, beside the routed ones (DeepSeek, Qwen2-MoE), n_shared_experts
    # of them fused into one of width n_shared_experts * d_expert (or shared_expert_intermediate_size).
    "mlp.shared.W_in": ("[d_model, d_shared]", "shared expert's input"),
    "mlp.shared.W_gate": ("[d_model, d_shared]", "shared expert's gate"),
    "mlp.shared.W_out": ("[d_shared, d_model]", "shared expert's output"),
    "mlp.shared.W_router": ("[d_model, 1]", "a sigmoid gate scaling the shared expert per token (Qwen2-MoE)"),
}
HEAD_SLOTS = {"attn.W_Q", "attn.W_gate", "attn.W_K", "attn.W_V", "attn.W_O", "attn.b_Q", "attn.b_K", "attn.b_V",
              "attn.W_gate_head", "cross_attn.W_Q", "cross_attn.W_K", "cross_attn.W_V", "cross_attn.W_O",
              "cross_attn.b_Q", "cross_attn.b_K", "cross_attn.b_V", "attn.W_Q_b", "attn.W_K_b", "attn.W_V_b",
              "attn.sinks", "pos_embed.W_rel", "attn.W_rel"}
EXPERT_SLOTS = {s for s in LAYER_SLOTS if s.startswith("mlp.experts.")}  # expert index first
ATTN_WEIGHTS = ("attn.W_Q", "attn.W_K", "attn.W_V", "attn.W_O")  # one layer's per-head attention


@dataclass(frozen=True)
class Key:
    """A schema name, parsed: `Key("attn.W_Q", 3)` is `blocks.3.attn.W_Q`; `Key("embed.W_E")` is `embed.W_E`."""
    slot: str
    layer: int | None = None
    stack: str = MAIN

    def __str__(self) -> str:
        if self.layer is not None:
            return f"{self.stack}.{self.layer}.{self.slot}"
        return self.slot if self.stack == MAIN else f"{self.stack}.{self.slot}"

    @property
    def template(self) -> str:
        """The name with `{l}` for the layer (as adapters' rules are keyed): 'blocks.{l}.attn.W_Q'."""
        return str(self) if self.layer is None else f"{self.stack}.{{l}}.{self.slot}"

    def at(self, layer: int) -> Key:
        """The same slot in another layer."""
        return Key(self.slot, layer, self.stack)


def name(slot: str, layer: int | None = None, stack: str = MAIN) -> str:
    """The written schema name: name('attn.W_Q', 3) -> 'blocks.3.attn.W_Q'; name('embed.W_E') -> 'embed.W_E'."""
    return str(Key(slot, layer, stack))


_NAME = re.compile(r"^(?:(?P<stack>[a-z_]+)\.(?P<layer>\d+)\.|(?P<gstack>" + "|".join(
    s for s in STACKS if s != MAIN) + r")\.)?(?P<slot>.+)$")


def parse(written: str) -> Key:
    """The Key of a written schema name: parse('blocks.3.attn.W_Q') -> Key('attn.W_Q', 3, 'blocks')."""
    m = _NAME.match(written)
    if m is None:
        raise ValueError(f"not a schema name: {written!r}")
    if m.group("layer") is not None:
        return Key(m.group("slot"), int(m.group("layer")), m.group("stack"))
    return Key(m.group("slot"), None, m.group("gstack") or MAIN)


def template(slot: str, stack: str = MAIN) -> str:
    """A per-layer slot's name with `{l}` for the layer: template('attn.W_Q') -> 'blocks.{l}.attn.W_Q'."""
    return Key(slot, 0, stack).template


def expand(template_name: str, layer: int | None) -> str:
    """A rule's template with its layer filled in: expand('blocks.{l}.attn.W_Q', 3) -> 'blocks.3.attn.W_Q'."""
    return template_name.format(l=layer) if layer is not None else template_name


_ONE_EXPERT = re.compile(r"^mlp\.experts\.(\d+)\.(\w+)$")


def is_matrix(slot: str) -> bool:
    """A weight matrix slot (W_*), as against a norm weight, a bias or a per-head scalar: is_matrix('attn.W_Q')."""
    return slot.rsplit(".", 1)[-1].startswith("W_")


def expert_slot(slot: str, expert: int) -> str:
    """One expert of an expert slot: expert_slot('mlp.experts.W_in', 3) -> 'mlp.experts.3.W_in'.
    `name(expert_slot(...), layer)` is then a name Model.weight reads as that expert alone."""
    if slot not in EXPERT_SLOTS:
        raise ValueError(f"{slot!r} is not an expert slot")
    return f"mlp.experts.{expert}.{slot.rsplit('.', 1)[1]}"


def split_expert(slot: str) -> tuple[str, int | None]:
    """'mlp.experts.3.W_in' -> ('mlp.experts.W_in', 3); any other slot -> (slot, None)."""
    m = _ONE_EXPERT.match(slot)
    return (f"mlp.experts.{m.group(2)}", int(m.group(1))) if m else (slot, None)


def split_layer(written: str) -> tuple[int | None, str]:
    """'blocks.3.attn.W_Q' -> (3, 'attn.W_Q'); 'embed.W_E' -> (None, 'embed.W_E')."""
    key = parse(written)
    return key.layer, key.slot


def template_of(written: str) -> str:
    return parse(written).template


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


PREFIX_TOKENS = ("embed.cls", "embed.distill", "embed.registers")  # learned tokens before the patches: "positional"


def category(written: str) -> str:
    """The category of a schema name (a key of CATEGORIES)."""
    slot = parse(written).slot
    if slot.startswith(("embed.ln", "ln", "attn.q_norm", "attn.k_norm", "attn.q_a_norm", "attn.kv_a_norm")):
        return "norm"
    if slot.startswith(("embed.", "token_type_embed")) and slot not in PREFIX_TOKENS:
        return "embedding"
    if slot.startswith("pos_embed") or slot in PREFIX_TOKENS:
        return "positional"
    if slot.startswith(("attn.", "cross_attn.")):
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
