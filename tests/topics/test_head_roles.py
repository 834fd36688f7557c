"""topics.head_roles on real transformers checkpoints: planted heads written into GPT-2's own fused tensors, every
score against the circuits formed in full from transformers' parameters (not through the adapters)."""
import numpy as np
import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM

from adapters import open_model
from tests.adapters.harness import build
from topics import head_roles as topic

D_MODEL, N_HEAD, N_POS, VOCAB = 32, 4, 8, 8
D_HEAD = D_MODEL // N_HEAD


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """Layer 0 of a tiny GPT-2: H0 copies (OV = identity on tokens), H1 attends to the previous position through
    the learned positions, H2 suppresses (OV = -identity); H3 and layer 1 stay random."""
    torch.manual_seed(0)
    hf = AutoModelForCausalLM.from_config(AutoConfig.for_model(
        "gpt2", n_embd=D_MODEL, n_head=N_HEAD, n_layer=2, vocab_size=VOCAB, n_positions=N_POS)).eval()
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(D_MODEL, D_MODEL)))
    E, P = q[:, :VOCAB].T, q[:, VOCAB:VOCAB + N_POS].T  # (8, d_model) orthonormal rows each
    t = lambda a: torch.tensor(np.asarray(a), dtype=torch.float32)
    with torch.no_grad():
        hf.transformer.wte.weight.copy_(t(E))  # the LM head is tied: W_U = E.T
        hf.transformer.wpe.weight.copy_(t(P))
        attn = hf.transformer.h[0].attn
        w, proj = attn.c_attn.weight, attn.c_proj.weight  # Conv1D: (d_model in, 3 d_model out), (d_model, d_model)
        head = lambda part, h: slice(part * D_MODEL + h * D_HEAD, part * D_MODEL + (h + 1) * D_HEAD)
        w[:, head(2, 0)], proj[0:D_HEAD] = t(E.T), t(E)  # H0: W_V = E.T, W_O = E
        w[:, head(0, 1)] = t(30 * np.c_[P[1:].T, np.zeros(D_MODEL)])  # H1: q_i . k_j = 30 [j = i - 1]
        w[:, head(1, 1)] = t(np.c_[P[:-1].T, np.zeros(D_MODEL)])
        w[:, head(2, 2)], proj[2 * D_HEAD:3 * D_HEAD] = t(E.T), t(-E)  # H2: W_O = -E
    folder = tmp_path_factory.mktemp("planted")
    hf.save_pretrained(folder)
    return open_model(str(folder))


def test_planted_heads_are_found(planted):
    r = topic.compute(planted)
    assert r.layers == [0, 1] and set(r.scores) == set(topic.SCORES)
    np.testing.assert_allclose(r.scores["copying"][0, [0, 2]], [1.0, -1.0], atol=1e-5)
    assert r.scores["previous"][0, 1] > 0.99
    assert r.scores["previous"][0, [0, 2, 3]].max() < 0.7
    text = topic.reading(r)
    assert "**L0H0**" in text and "L0H1 (+" in text and "below −0.5" in text
    assert len(r.table()) == 8 and r.features((0,)).shape == (4, 4)


def _hf_circuits(hf, layer: int):
    """Each head's (W_V, W_O, W_Q, W_K) sliced from transformers' own Conv1D parameters."""
    attn = hf.transformer.h[layer].attn
    w, proj = attn.c_attn.weight.detach().double().numpy(), attn.c_proj.weight.detach().double().numpy()
    d, n = hf.config.n_embd, hf.config.n_head
    dh = d // n
    cols = lambda part, h: w[:, part * d + h * dh: part * d + (h + 1) * dh]
    return [(cols(2, h), proj[h * dh:(h + 1) * dh], cols(0, h), cols(1, h)) for h in range(n)]


def test_scores_match_circuits_formed_in_full(tmp_path):
    hf, model = build("gpt2", tmp_path, n_embd=24, n_layer=2, n_head=3, vocab_size=30, n_positions=12)
    W_E = hf.transformer.wte.weight.detach().double().numpy()
    W_pos = hf.transformer.wpe.weight.detach().double().numpy()
    W_U = hf.lm_head.weight.detach().double().numpy().T
    r = topic.compute(model)
    for layer in range(2):
        for h, (W_V, W_O, W_Q, W_K) in enumerate(_hf_circuits(hf, layer)):
            eig = np.linalg.eigvals(W_E @ W_V @ W_O @ W_U)  # (30, 30) formed in full
            np.testing.assert_allclose(r.scores["copying"][layer, h], eig.sum().real / np.abs(eig).sum(), atol=1e-5)
            scores = W_pos @ W_Q @ W_K.T @ W_pos.T / np.sqrt(8)
            scores[np.triu_indices(12, 1)] = -np.inf
            pattern = torch.softmax(torch.tensor(scores), dim=-1).numpy()
            np.testing.assert_allclose(r.scores["previous"][layer, h], np.diag(pattern, -1).mean(), atol=1e-5)


def test_rotary_model_has_copying_only(tmp_path):
    _, model = build("llama", tmp_path, hidden_size=32, intermediate_size=48, num_hidden_layers=1,
                     num_attention_heads=4, num_key_value_heads=2, vocab_size=40, max_position_embeddings=16)
    r = topic.compute(model)
    assert set(r.scores) == {"copying", "positive"} and r.scores["copying"].shape == (1, 4)
    assert "rotary" in topic.reading(r)


def test_top_tokens_name_the_checkpoints_tokens(planted, tmp_path):
    assert topic.top_tokens(planted, 0) is None  # no tokenizer file beside the weights
    folder = planted.located.files[0].rsplit("/", 1)[0]
    with open(f"{folder}/vocab.txt", "w") as f:
        f.write("\n".join(f"tok{i}" for i in range(VOCAB)))
    model = open_model(folder)
    rows = topic.top_tokens(model, 0, k=3)
    assert [r.head for r in rows] == ["H0", "H1", "H2", "H3"]
    assert [v for _, v in rows[0].copied] == pytest.approx([1.0] * 3, abs=1e-5)  # identity: every token copies 1
    assert all(w.startswith("tok") for w, _ in rows[0].copied)
    assert [v for _, v in rows[2].copied] == pytest.approx([-1.0] * 3, abs=1e-5)
