"""docs/transforms.md documents exactly the registered transforms, with their signatures."""

from __future__ import annotations

import re
from pathlib import Path

from pdmigrate.transforms import registry

DOC = Path(__file__).resolve().parents[2] / "docs" / "transforms.md"


def _sections() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    reference = text.split("\n## Reference\n", 1)[1].split("\n## ", 1)[0]
    parts = re.split(r"^### `([^`]+)`\s*$", reference, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_doc_lists_exactly_the_registered_names() -> None:
    """Every registered transform has a section, and every section a registered transform."""
    assert sorted(_sections()) == sorted(registry())


def test_doc_shows_each_signature() -> None:
    """Each section opens with the spec signature the code registers."""
    for name, body in _sections().items():
        assert f"Spec: `{registry()[name].signature}`" in body, name
