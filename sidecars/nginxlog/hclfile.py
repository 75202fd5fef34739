"""prometheus-nginxlog-exporter's HCL file (HCL version 1, the dialect the exporter reads)
turned into the shape of its YAML file, so one reader checks both.

pyhcl is imported only when an ``.hcl`` file is given: the helper's start-up does not
pay for it otherwise.
"""

from __future__ import annotations

from typing import Any

__all__ = ["hcl_data"]


def hcl_data(text: str) -> dict[str, Any]:
    """HCL (version 1) in the shape of the YAML file: labelled blocks become list entries."""
    import hcl  # type: ignore[import-untyped]  # only .hcl files pay for it

    try:
        data = hcl.loads(text)
    except Exception as exc:  # pyhcl raises ValueError and ply's own errors
        raise ValueError(str(exc)) from None
    if not isinstance(data, dict):
        return data  # type: ignore[no-any-return]
    if "namespace" in data:
        data["namespaces"] = [_hcl_namespace(n, body) for n, body in _blocks(data.pop("namespace"))]
    return data


def _hcl_namespace(name: str, body: object) -> object:
    if not isinstance(body, dict):
        return body
    body = {"name": name, **body}
    if "relabel" not in body:
        return body
    relabels = []
    for target, relabel in _blocks(body.pop("relabel")):
        if isinstance(relabel, dict) and "match" in relabel:
            relabel["matches"] = [
                {"regexp": regex, **match} if isinstance(match, dict) else match
                for regex, match in _blocks(relabel.pop("match"))
            ]
        relabels.append(
            {"target_label": target, **relabel} if isinstance(relabel, dict) else relabel
        )
    body["relabel_configs"] = relabels
    return body


def _blocks(value: object) -> list[tuple[str, object]]:
    """``name "label" { ... }`` blocks as pyhcl gives them (a table by label, a list of
    those when repeated, or the body itself when the block has no label)."""
    items = value if isinstance(value, list) else [value]
    blocks: list[tuple[str, object]] = []
    for item in items:
        if isinstance(item, dict) and item and all(isinstance(v, dict) for v in item.values()):
            blocks.extend(item.items())
        else:
            blocks.append(("", item))
    return blocks
