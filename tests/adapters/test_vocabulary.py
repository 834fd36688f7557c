"""adapters.vocabulary: token strings read as data from tokenizer.json (the tokenizers library) or vocab.txt."""
from types import SimpleNamespace

import pytest
from tokenizers import Tokenizer, models

from adapters.errors import LoadError
from adapters.vocabulary import vocabulary


def _located(folder):
    return SimpleNamespace(files=[str(folder / "model.safetensors")])


def test_tokenizer_json_gives_id_order(tmp_path):
    words = {"hello": 0, "world": 2, "[UNK]": 1}
    Tokenizer(models.WordLevel(words, unk_token="[UNK]")).save(str(tmp_path / "tokenizer.json"))
    (tmp_path / "vocab.txt").write_text("not\nread\n")  # tokenizer.json comes first
    assert vocabulary(_located(tmp_path)) == ["hello", "[UNK]", "world"]


def test_vocab_txt_line_is_id(tmp_path):
    (tmp_path / "vocab.txt").write_text("[PAD]\n##ing\nthe\n")
    assert vocabulary(_located(tmp_path)) == ["[PAD]", "##ing", "the"]


def test_none_without_a_file_and_error_for_a_bad_one(tmp_path):
    assert vocabulary(_located(tmp_path)) is None
    (tmp_path / "tokenizer.json").write_text('{"model": 7}')
    with pytest.raises(LoadError, match="could not be read as a tokenizer"):
        vocabulary(_located(tmp_path))


def test_minilm_vocab(minilm_dir):
    vocab = vocabulary(SimpleNamespace(files=[f"{minilm_dir}/model.safetensors"]))
    assert len(vocab) == 30522 and vocab[0] == "[PAD]" and vocab[2023] == "this"
