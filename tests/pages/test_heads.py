"""The attention-heads page, driven by AppTest on the bundled MiniLM, tiny GPT-2, tiny GQA Llama, and a headless model."""
import os


from tests.pages.apptest import errors, run_page
from tests.pages.vega import charts

PAGE = "pages/heads.py"


def tile_heads(at) -> list[str]:
    """The head labels of the per-head weight tiles (the first chart)."""
    return sorted({row["head"] for row in charts(at)[0].data[0]})


def roles_table(at):
    return next(d.value for d in at.dataframe if "layer" in d.value and "head" in d.value)


def dendrogram_title(chart) -> str:
    return chart.spec["title"]


def test_bundled_model_page_and_widgets():
    at = run_page(PAGE)
    assert not errors(at), errors(at)
    assert at.title[0].value == "Attention heads"
    tiles, head_map, trend, copying, previous, tree = charts(at)
    assert copying.title.startswith("OV copying score") and previous.title.startswith("previous-token score")
    assert any("look copying" in m.value and "W_Eᵀ stands for W_U" in m.value for m in at.markdown)
    roles = roles_table(at)
    assert len(roles) == 72 and roles.filter(like="copying").abs().max().max() <= 1
    assert at.selectbox(key="heads_feature").value == "roles"  # the default: what the heads do
    assert "what the head does" in dendrogram_title(tree)
    assert max(at.dataframe[-1].value["heads"]) <= 6  # flattened weights put 9 of layer 0's 12 heads in one cluster
    at.selectbox(key="heads_feature").set_value("weights").run()
    assert max(at.dataframe[-1].value["heads"]) == 9
    at.selectbox(key="heads_feature").set_value("roles").run()
    assert tiles.title == "W_Q of layer 0, per head" and tiles.spec["width"] == "container"  # as wide as the page
    names = next(d for d in tiles.data if "value" not in d[0])
    assert len(names) == 12 and len({row["y"] for row in names}) == 1  # MiniLM's 12 heads: one row across the page
    assert tile_heads(at) == sorted(f"H{h}" for h in range(12))
    assert tiles.rows[0] < 5000 and "block means" in tiles.subtitle
    assert head_map.title == "‖W_V W_O‖ (OV circuit, Frobenius)"
    readings = [m.value for m in at.markdown]
    assert any("largest at **L" in r and "with depth" in r for r in readings)
    assert any(r.startswith("Cut into 4 clusters") for r in readings)
    table = at.dataframe[-1].value
    assert len(table) == 4 and table["heads"].sum() == 12

    at.selectbox(key="heads_layer").set_value(3).run()
    assert charts(at)[0].title == "W_Q of layer 3, per head"
    assert [r["value"] for r in charts(at)[0].data[0]] != [r["value"] for r in tiles.data[0]]
    at.toggle(key="heads_tokens").set_value(True).run()
    tokens = next(d.value for d in at.dataframe if "copies most" in d.value)
    assert len(tokens) == 12 and tokens["copies most"].str.contains("·").all()  # MiniLM's vocab.txt words
    at.radio(key="heads_weight").set_value("W_O").run()
    assert not errors(at), errors(at)
    tiles2 = charts(at)[0]
    assert tiles2.title == "W_O of layer 3, per head" and "32×384 matrix" in tiles2.subtitle
    assert [r["value"] for r in tiles2.data[0]] != [r["value"] for r in tiles.data[0]]

    at.selectbox(key="heads_stat").set_value("qk_top").run()
    assert charts(at)[1].title == "top singular value of the QK circuit"
    assert any("**top singular value of the QK circuit**" in m.value for m in at.markdown)

    at.slider(key="heads_k").set_value(6).run()
    assert len(at.dataframe[-1].value) == 6
    assert any(m.value.startswith("Cut into 6 clusters") for m in at.markdown)

    at.radio(key="heads_scope").set_value("All layers").run()
    at.selectbox(key="heads_feature").set_value("spectra").run()
    assert not errors(at), errors(at)
    table = at.dataframe[-1].value
    assert table["heads"].sum() == 72 and table["members"].str.contains(r"L\d+H\d+").all()
    tree = charts(at)[-1]
    leaves = [{row["label"] for row in rows} for rows in tree.data if rows and "label" in rows[0]]
    assert leaves == [{f"L{l}H{h}" for l in range(6) for h in range(12)}]
    assert "72 heads" in dendrogram_title(tree) and "singular-value" in dendrogram_title(tree)
    assert tree.spec["height"] >= 13 * 72 and tree.spec["autosize"]["type"] == "fit-x"  # a row per head, not squeezed


def test_tiny_gpt2(tmp_path):
    from tests.adapters.harness import build
    build("gpt2", tmp_path, n_embd=32, n_layer=3, n_head=4, vocab_size=60, n_positions=16)
    at = run_page(PAGE, source=str(tmp_path))
    assert not errors(at), errors(at)
    assert len(charts(at)) == 6  # tiles, statistic map and trend, copying and previous-token maps, dendrogram
    assert tile_heads(at) == ["H0", "H1", "H2", "H3"]
    at.toggle(key="heads_tokens").set_value(True).run()
    assert any("No tokenizer.json or vocab.txt" in i.value for i in at.info)
    assert any(m.value.startswith("Cut into") for m in at.markdown)
    at.radio(key="heads_scope").set_value("All layers").run()
    assert at.dataframe[-1].value["heads"].sum() == 12


def test_llama_with_grouped_query_attention(tmp_path):
    from tests.adapters.harness import build
    build("llama", tmp_path, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=8,
          num_key_value_heads=2, vocab_size=100, max_position_embeddings=64)
    at = run_page(PAGE, source=str(tmp_path))
    assert not errors(at), errors(at)
    assert len(tile_heads(at)) == 8
    assert any("Positions are rotary" in m.value for m in at.markdown)  # a copying score, no previous-token one
    at.radio(key="heads_weight").set_value("W_K").run()
    assert not errors(at), errors(at)
    assert tile_heads(at) == ["KV0", "KV1"]
    assert any("shared by 4 query heads" in c.value for c in at.caption)
    at.selectbox(key="heads_feature").set_value("W_K").run()  # heads of one kv group are identical here
    assert not errors(at), errors(at)
    assert any("distance 0" in m.value for m in at.markdown)


def test_model_without_heads_says_so(tmp_path):
    from tests.adapters.harness import build
    build("gpt2", tmp_path, n_embd=40, n_layer=1, n_head=4, vocab_size=60, n_positions=16)
    os.remove(tmp_path / "config.json")  # d_model 40 is no GPT-2 size: the head count is unknown
    at = run_page(PAGE, source=str(tmp_path))
    assert not errors(at), errors(at)
    assert any("no per-head view" in i.value for i in at.info)
    assert not charts(at)
