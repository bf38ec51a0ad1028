"""The model file's schema: the architecture record that Net.save writes and Net.load reads."""

from __future__ import annotations

from fastbp import _validate as v

MODEL_FORMAT = "fastbp.Net"
MODEL_VERSION = 1
LAYER_FIELDS = ("in_features", "out_features", "activation", "bias")


def model_record(record) -> dict:
    """A saved model's architecture record (parsed JSON): its structure and layer sizes.

    The other values (activation names, dtype, consecutive sizes that agree) are
    checked by Layer and Net themselves when the model is rebuilt.
    """
    if not isinstance(record, dict):
        raise ValueError(f"architecture: expected a JSON object, got {type(record).__name__}")
    if record.get("format") != MODEL_FORMAT:
        raise ValueError(f"architecture: expected format {MODEL_FORMAT!r}, got {record.get('format')!r}")
    version = record.get("version")
    if version != MODEL_VERSION:
        raise ValueError(f"architecture: expected format version {MODEL_VERSION}, got {version!r}"
                         + (" (written by a newer fastbp)" if isinstance(version, int)
                            and version > MODEL_VERSION else ""))
    layers = record.get("layers")
    if not isinstance(layers, list) or not layers:
        raise ValueError(f"architecture: expected a non-empty list of layers, got {layers!r}")
    for k, layer in enumerate(layers):
        if not isinstance(layer, dict) or sorted(layer) != sorted(LAYER_FIELDS):
            raise ValueError(f"architecture: layers[{k}]: expected an object with the fields "
                             f"{', '.join(LAYER_FIELDS)}, got {layer!r}")
        for field in ("in_features", "out_features"):
            v.positive_int(layer[field], f"architecture: layers[{k}].{field}")
        if not isinstance(layer["bias"], bool):
            raise ValueError(f"architecture: layers[{k}].bias: expected true or false, "
                             f"got {layer['bias']!r}")
    if not isinstance(record.get("dtype"), str):
        raise ValueError(f"architecture: expected a dtype name, got {record.get('dtype')!r}")
    return record
