"""The Training run page on a real run made here (a tiny GPT-2 trained a few steps, saved at each)."""
import torch

from tests.adapters.harness import build
from tests.pages.apptest import errors, run_page

TINY = dict(n_embd=32, n_layer=2, n_head=2, vocab_size=60, n_positions=16)


def _run(root):
    hf, _ = build("gpt2", root / "start", **TINY)
    opt = torch.optim.SGD(hf.parameters(), lr=0.5)
    batch = torch.randint(0, 60, (2, 16), generator=torch.Generator().manual_seed(0))
    for step in (10, 20, 30):
        loss = hf(input_ids=batch, labels=batch).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        hf.save_pretrained(root / "run" / f"checkpoint-{step}")
    return root / "run"


def test_run_page_from_a_trainer_folder(tmp_path):
    at = run_page("pages/run.py")
    assert not errors(at) and "Give the checkpoints of a training run" in at.info[0].value
    folder = _run(tmp_path)
    at.text_area(key="run_sources").set_value(str(folder)).run()
    assert not errors(at), errors(at)
    assert at.markdown[0].value.startswith("3 checkpoints, from checkpoint-10 to checkpoint-30.")
    specs = [c.proto.spec for c in at.get("vega_lite_chart")]
    assert any("Which layers moved most, when" in s for s in specs) and len(specs) == 3
    at.selectbox(key="run_metric").set_value("alpha").run()
    at.selectbox(key="run_slot").set_value("mlp.W_in").run()
    assert not errors(at)
    at.text_area(key="run_sources").set_value(f"{folder}/checkpoint-10\n{folder}/checkpoint-30").run()
    assert not errors(at) and at.markdown[0].value.startswith("2 checkpoints")


def test_run_page_errors(tmp_path):
    at = run_page("pages/run.py", run_sources=str(tmp_path))
    assert "holds 0 checkpoint(s)" in at.error[0].value and not at.exception
    folder = _run(tmp_path)
    build("gpt2", tmp_path / "other" / "checkpoint-40", **{**TINY, "n_layer": 3})
    at = run_page("pages/run.py", run_sources=f"{folder}/checkpoint-10\n{tmp_path}/other/checkpoint-40")
    assert "Checkpoint checkpoint-40 does not match checkpoint-10" in at.error[0].value
    at = run_page("pages/run.py", run_sources=f"{folder}/checkpoint-10\n{tmp_path}/nope")
    assert at.error[0].value.startswith("Could not open checkpoint **") and "nope does not exist" in at.error[0].value


def test_a_hub_id_offers_its_step_revisions_as_the_run(tmp_path, monkeypatch):
    """One Hub id whose branches are steps (as Pythia's): they are offered by step, five spread over the run
    chosen at first, and the run is read at the chosen ones."""
    import os

    from tests.hub_server import LoopbackHub, point_client_at
    from ui.picker import _hub_listing
    from ui.session import _open_hub
    folder = _run(tmp_path)
    monkeypatch.delenv("WEIGHTS_HOSTED", raising=False)
    hub = LoopbackHub().start()
    _open_hub.clear(), _hub_listing.clear()
    try:
        point_client_at(hub, monkeypatch, tmp_path / "hub-cache")
        for step in (30, 10, 20):  # added out of order: listed by step
            checkpoint = folder / f"checkpoint-{step}"
            hub.add("owner/run", {f: (checkpoint / f).read_bytes() for f in os.listdir(checkpoint)},
                    branch=f"step{step}")
        at = run_page("pages/run.py", run_sources="owner/run", run_spectral=False)
        assert not errors(at), errors(at)
        picked = at.multiselect(key="run_revisions")
        assert picked.options == ["step10", "step20", "step30"] and picked.value == ["step10", "step20", "step30"]
        assert at.markdown[0].value.startswith("3 checkpoints, from owner/run@step10 to owner/run@step30.")
        picked.set_value(["step10", "step30"]).run()
        assert not errors(at) and at.markdown[0].value.startswith("2 checkpoints, from owner/run@step10 to owner/run@step30.")
    finally:
        hub.stop()
        _open_hub.clear(), _hub_listing.clear()
