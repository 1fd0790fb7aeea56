"""Read a BERT checkpoint (safetensors file + config.json) into NumPy arrays, without torch or safetensors."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

_DTYPES: dict[str, str] = {"F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4"}
_HEADER_LIMIT = 100 * 1024 * 1024

WeightPrecision = Literal["int8", "float32"]
"""How the encoder graph stores its linear weights: int8 blocks (faster) or float32 (exact)."""


@dataclass(frozen=True, slots=True)
class BertConfig:
    """The shape of a BERT encoder, as written in its `config.json`."""

    hidden_size: int
    num_attention_heads: int
    num_hidden_layers: int
    intermediate_size: int
    layer_norm_eps: float
    max_position_embeddings: int

    @classmethod
    def from_file(cls, path: Path) -> BertConfig:
        raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"unsupported activation {raw.get('hidden_act')!r} in {path}")
        if raw.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"unsupported position embeddings in {path}")
        return cls(
            hidden_size=int(raw["hidden_size"]),
            num_attention_heads=int(raw["num_attention_heads"]),
            num_hidden_layers=int(raw["num_hidden_layers"]),
            intermediate_size=int(raw["intermediate_size"]),
            layer_norm_eps=float(raw["layer_norm_eps"]),
            max_position_embeddings=int(raw["max_position_embeddings"]),
        )


def read_safetensors(path: Path) -> dict[str, npt.NDArray[Any]]:
    """All tensors of a safetensors file, as read-only arrays backed by one memory map.

    The format is an 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape and
    byte range, then the raw little-endian data.
    """
    with path.open("rb") as handle:
        (header_len,) = struct.unpack("<Q", handle.read(8))
        if header_len > _HEADER_LIMIT:
            raise ValueError(f"{path}: implausible safetensors header length {header_len}")
        header: dict[str, Any] = json.loads(handle.read(header_len))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + header_len)
    tensors: dict[str, npt.NDArray[Any]] = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(entry["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {entry['dtype']}")
        begin, end = entry["data_offsets"]
        shape = tuple(int(dim) for dim in entry["shape"])
        array = data[begin:end].view(dtype).reshape(shape)
        tensors[name] = array
    return tensors
