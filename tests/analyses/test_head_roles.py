"""analyses.head_roles against the circuits formed in full with numpy (tiny sizes), and on planted heads."""
import numpy as np

from analyses import head_roles as roles

rng = np.random.default_rng(3)
N, D_MODEL, D_HEAD, D_VOCAB, N_POS = 5, 24, 4, 40, 10


def _tl_copying(full: np.ndarray) -> float:
    """TransformerLens's OV copying score on the full (d_vocab, d_vocab) circuit: Re(sum lambda) / sum |lambda|."""
    eig = np.linalg.eigvals(full)
    return eig.sum().real / np.abs(eig).sum()


def test_copying_score_matches_the_full_vocab_circuit():
    W_E, W_U = rng.normal(size=(D_VOCAB, D_MODEL)), rng.normal(size=(D_MODEL, D_VOCAB))
    W_V, W_O = rng.normal(size=(N, D_MODEL, D_HEAD)), rng.normal(size=(N, D_HEAD, D_MODEL))
    eig = roles.ov_eigenvalues(W_V, W_O, roles.token_loop(W_E, W_U))
    for h in range(N):
        full = W_E @ W_V[h] @ W_O[h] @ W_U  # (d_vocab, d_vocab): rank d_head, so d_vocab - d_head zero eigenvalues
        big = np.linalg.eigvals(full)
        big = big[np.argsort(-np.abs(big))][:D_HEAD]
        np.testing.assert_allclose(np.sort_complex(eig[h]), np.sort_complex(big), rtol=1e-7, atol=1e-8)
        np.testing.assert_allclose(roles.copying_score(eig[h:h + 1])[0], _tl_copying(full), atol=1e-9)
        assert roles.positive_share(eig[h:h + 1])[0] == np.mean(big.real > 0)


def test_planted_copying_and_suppressing_heads():
    """OV = identity on token space copies (+1); its negative suppresses (-1); a rotation scores near 0."""
    q, _ = np.linalg.qr(rng.normal(size=(D_MODEL, D_MODEL)))
    E = q[:, :D_HEAD].T  # (d_vocab = d_head, d_model), orthonormal rows: W_E; W_U = E.T (tied)
    turn = np.array([[0, -1, 0, 0], [1, 0, 0, 0], [0, 0, 0, -1], [0, 0, 1, 0]], float)  # eigenvalues ±i
    W_V = np.stack([E.T, E.T, E.T])  # (3, d_model, d_head)
    W_O = np.stack([E, -E, turn @ E])  # (3, d_head, d_model)
    eig = roles.ov_eigenvalues(W_V, W_O, roles.token_loop(E, E.T))
    np.testing.assert_allclose(roles.copying_score(eig), [1.0, -1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(roles.positive_share(eig), [1.0, 0.0, 0.0])


def _pattern(W_pos, W_Q, W_K, scale, causal):
    scores = scale * (W_pos @ W_Q @ W_K.T @ W_pos.T)  # (n_pos, n_pos), formed in full
    if causal:
        scores[np.triu_indices(len(W_pos), 1)] = -np.inf
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_positional_attention_matches_the_formed_pattern():
    W_pos = rng.normal(size=(N_POS, D_MODEL))
    W_Q, W_K = rng.normal(size=(N, D_MODEL, D_HEAD)), rng.normal(size=(N, D_MODEL, D_HEAD))
    for causal in (True, False):
        got = roles.positional_attention(W_pos, W_Q, W_K, 0.3, causal)
        want = np.stack([_pattern(W_pos, W_Q[h], W_K[h], 0.3, causal) for h in range(N)])
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(roles.previous_token_score(got),
                                   [np.mean([want[h, i, i - 1] for i in range(1, N_POS)]) for h in range(N)])
        np.testing.assert_allclose(roles.self_score(got),
                                   [np.mean([want[h, i, i] for i in range(1, N_POS)]) for h in range(N)])


def test_planted_previous_token_head():
    """W_Q W_K^T = c * sum_i p_i p_{i-1}^T over orthonormal position rows: position i attends to i - 1."""
    q, _ = np.linalg.qr(rng.normal(size=(D_MODEL, D_MODEL)))
    P = q[:, :N_POS].T  # (n_pos, d_model) orthonormal rows
    W_Q = 30 * P[1:].T[None]  # (1, d_model, n_pos - 1)
    W_K = P[:-1].T[None]
    prev = roles.previous_token_score(roles.positional_attention(P, W_Q, W_K, 1.0, causal=True))
    assert prev[0] > 0.99
    same = roles.previous_token_score(roles.positional_attention(P, W_Q, W_Q / 30, 1.0, causal=True))
    assert same[0] < 0.01  # attends to itself instead


def test_top_tokens_from_thin_factors():
    A, B = rng.normal(size=(D_VOCAB, D_HEAD)), rng.normal(size=(D_VOCAB, D_HEAD))
    full = A @ B.T
    ids, values = roles.top_copied(A, B, 5)
    np.testing.assert_array_equal(ids, np.argsort(np.diag(full))[::-1][:5])
    np.testing.assert_allclose(values, np.sort(np.diag(full))[::-1][:5], rtol=1e-12)
    reads, writes, s = roles.top_mapping(A, B, 3)
    u, sv, vt = np.linalg.svd(full)
    sign = np.sign(u[np.argmax(np.abs(u[:, 0])), 0])
    np.testing.assert_allclose(s, sv[0], rtol=1e-9)
    np.testing.assert_array_equal(reads, np.argsort(sign * u[:, 0])[::-1][:3])
    np.testing.assert_array_equal(writes, np.argsort(sign * vt[0])[::-1][:3])
    assert full[reads[0], writes[0]] > 0  # reading the first token raises the logit of the first written
