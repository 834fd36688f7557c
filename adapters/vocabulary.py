"""The token strings a checkpoint ships beside its weights, read as data: nothing from the checkpoint is executed.

`tokenizer.json` is parsed by the `tokenizers` library (a Rust JSON reader, no Python code run); `vocab.txt`
(BERT's WordPiece) is one token per line, its line number the id.

    vocab = vocabulary(model.located)   # ['!', '"', ...] or None when no tokenizer file is beside the weights
"""
from __future__ import annotations

import os

from adapters.errors import LoadError

FILES = ("tokenizer.json", "vocab.txt")
MAX_BYTES = 64 * 2**20  # a tokenizer file larger than this is not a tokenizer (the largest are ~20 MB)


def tokenizer_file(files: list[str]) -> str | None:
    """The first of FILES in the folder of the weights (`Located.files`), or None."""
    for folder in dict.fromkeys(os.path.dirname(os.path.abspath(f)) for f in files):
        for name in FILES:
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                return path
    return None


def vocabulary(located) -> list[str] | None:
    """Token id -> string for the checkpoint at `located`, or None without a tokenizer file. A malformed file is a
    LoadError."""
    path = tokenizer_file(located.files)
    if path is None:
        return None
    if os.path.getsize(path) > MAX_BYTES:
        raise LoadError(f"{path} is larger than {MAX_BYTES // 2**20} MB, so it is not read as a tokenizer.")
    if path.endswith(".txt"):
        with open(path, encoding="utf-8", errors="replace") as f:
            return [line.rstrip("\n\r") for line in f]
    from tokenizers import Tokenizer  # installed with transformers; imported only when a file is there

    try:
        tok = Tokenizer.from_file(path)
    except Exception as e:  # the Rust reader's errors are plain Exceptions
        raise LoadError(f"{path} could not be read as a tokenizer ({str(e).splitlines()[0][:120]}).") from None
    size = tok.get_vocab_size(with_added_tokens=True)
    return [tok.id_to_token(i) or f"<{i}>" for i in range(size)]
