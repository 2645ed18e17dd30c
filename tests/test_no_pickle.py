"""No code path may unpickle: model files and face sets are shared between users (DESIGN.md)."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCANNED = ["app", "backends", "build.py", "bundle_specs", "launchers"]

FORBIDDEN = [
    (re.compile(r"^\s*(import|from)\s+(c?pickle|dill|joblib|shelve|marshal)\b", re.M),
     "imports a pickle-like module"),
    (re.compile(r"\bpickle\.loads?\("), "unpickles"),
    (re.compile(r"allow_pickle\s*=\s*True"), "np.load with allow_pickle"),
    (re.compile(r"weights_only\s*=\s*False"), "torch.load with weights_only=False"),
    (re.compile(r"torch\.load\((?![^)]*weights_only\s*=\s*True)"),
     "torch.load without weights_only=True"),
]


def _python_files():
    for entry in SCANNED:
        path = REPO / entry
        yield from ([path] if path.is_file() else sorted(path.rglob("*.py")))


def test_no_code_unpickles_user_files():
    offences = []
    for file in _python_files():
        text = file.read_text(encoding="utf-8")
        for pattern, what in FORBIDDEN:
            for m in pattern.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                offences.append(f"{file.relative_to(REPO)}:{line}: {what}")
    assert not offences, "\n".join(offences)


def test_the_scan_catches_what_it_should(tmp_path):
    bad = "import pickle\nz = pickle.load(fh)\nx = torch.load(f)\ny = np.load(p, allow_pickle=True)\n"
    hits = [what for pattern, what in FORBIDDEN if pattern.search(bad)]
    assert len(hits) == 4
