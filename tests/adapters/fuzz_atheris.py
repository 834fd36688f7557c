"""Coverage-guided fuzzing of the upload path with atheris (optional: `pip install atheris`).

    python tests/adapters/fuzz_atheris.py -runs=100000           # seeds: the property tests' files

Every input is opened as an upload and every tensor read: anything but LoadError is a crash.
Not collected by pytest; the hypothesis tests in test_fuzz.py are the default.
"""
import os
import sys
import tempfile

import atheris

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

with atheris.instrument_imports():
    from adapters import LoadError, Policy, open_model

POLICY = Policy(max_model_bytes=1 << 20)


def one_input(data: bytes) -> None:
    try:
        model = open_model(data, policy=POLICY)
    except LoadError:
        return
    for name in model.raw_names():
        try:
            model.raw(name)
        except LoadError:
            pass


def main() -> None:
    from tests.adapters.test_fuzz import BASES

    args = list(sys.argv)
    if not any(os.path.isdir(a) for a in args[1:]):  # no corpus given: start from the valid files
        corpus = tempfile.mkdtemp(prefix="atheris-corpus-")
        for i, blob in enumerate(BASES):
            with open(os.path.join(corpus, f"seed{i}"), "wb") as f:
                f.write(blob)
        args.append(corpus)
    atheris.Setup(args, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
