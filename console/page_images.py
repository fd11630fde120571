"""The form as received, as page images drawn on the server (pypdfium2), with its widgets' places (pikepdf).

An applicant's PDF is untrusted: it is opened in a child process (`python -m console.page_images`)
with a memory limit and a timeout, never in the console's own. The result (PNG pages and each widget's
full field name and rectangle as fractions of its page) is kept in a small cache by the PDF's hash,
so a page and its images cost one rendering.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import resource
import struct
import subprocess
import sys
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

MAX_PAGES = 6
SCALE = 1.4  # 612 pt wide -> 857 px
TIMEOUT_SECONDS = 20
MEMORY_BYTES = 768 * 1024 * 1024
CACHE_SIZE = 32


@dataclass(frozen=True)
class Widget:
    name: str  # the full field name, e.g. form1[0].Page1[0].ApplicationDate[0]
    page: int
    left: float  # fractions of the page, from its top-left corner
    top: float
    width: float
    height: float


@dataclass(frozen=True)
class Rendered:
    pages: list[bytes]  # PNG images
    widgets: list[Widget] = field(default_factory=list)
    error: str | None = None


_cache: OrderedDict[str, Rendered] = OrderedDict()
_lock = threading.Lock()


def render_pdf(data: bytes) -> Rendered:
    """The PDF's first pages as PNG images and its widgets; from the cache when this PDF was drawn already."""
    key = hashlib.sha256(data).hexdigest()
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    result = _render_in_child(data)
    with _lock:
        _cache[key] = result
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def _limit_memory() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))


def _render_in_child(data: bytes) -> Rendered:
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "console.page_images"],
            input=data,
            capture_output=True,
            timeout=TIMEOUT_SECONDS,
            preexec_fn=_limit_memory,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Rendered([], error="timeout")
    if completed.returncode != 0:
        return Rendered([], error=(completed.stderr.decode(errors="replace").strip().splitlines() or ["failed"])[-1][:200])
    answer = json.loads(completed.stdout)
    return Rendered(
        pages=[base64.b64decode(page) for page in answer["pages"]],
        widgets=[Widget(**widget) for widget in answer["widgets"]],
        error=answer.get("error"),
    )


def widgets_for(rendered: Rendered, names: dict[str, str]) -> list[dict[str, Any]]:
    """The widgets whose field is named in `names` (full name or its last parts -> severity), for outlining."""
    marks = []
    for widget in rendered.widgets:
        for name, severity in names.items():
            if widget.name == name or widget.name.endswith("." + name):
                marks.append({"widget": widget, "severity": severity, "name": name})
                break
    return marks


def png(pixels: bytes, width: int, height: int, stride: int, channels: int) -> bytes:
    """RGB(A) rows as a PNG file (no image library needed)."""
    rows = b"".join(b"\x00" + pixels[y * stride : y * stride + width * channels] for y in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    colour = 6 if channels == 4 else 2
    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b"")


def _child() -> None:  # pragma: no cover - runs in the child process
    import pikepdf
    import pypdfium2 as pdfium  # type: ignore[import-untyped]

    data = sys.stdin.buffer.read()
    pages: list[str] = []
    widgets: list[dict[str, Any]] = []
    document = pdfium.PdfDocument(data)
    try:
        document.init_forms()
        for index in range(min(len(document), MAX_PAGES)):
            page = document[index]
            bitmap = page.render(scale=SCALE, may_draw_forms=True, rev_byteorder=True)
            channels = bitmap.n_channels
            image = png(bytes(bitmap.buffer), bitmap.width, bitmap.height, bitmap.stride, channels)
            pages.append(base64.b64encode(image).decode())
    finally:
        document.close()
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            for index, page in enumerate(pdf.pages[:MAX_PAGES]):
                box = [float(v) for v in page.mediabox]
                page_width, page_height = box[2] - box[0], box[3] - box[1]
                for annotation in page.get("/Annots", []):
                    if annotation.get("/Subtype") != "/Widget" or "/Rect" not in annotation:
                        continue
                    x1, y1, x2, y2 = (float(v) for v in annotation.Rect)
                    left, right, bottom, top = min(x1, x2), max(x1, x2), min(y1, y2), max(y1, y2)
                    widgets.append(
                        {
                            "name": _full_name(annotation),
                            "page": index,
                            "left": (left - box[0]) / page_width,
                            "top": (box[3] - top) / page_height,
                            "width": (right - left) / page_width,
                            "height": (top - bottom) / page_height,
                        }
                    )
    except Exception as exc:  # noqa: BLE001 - widgets are a help: the pages still show
        print(json.dumps({"pages": pages, "widgets": [], "error": f"widgets: {type(exc).__name__}"}))
        return
    print(json.dumps({"pages": pages, "widgets": widgets}))


def _full_name(annotation: Any) -> str:
    parts = []
    node = annotation
    for _ in range(32):  # a loop of parents in a hostile file ends here
        if "/T" in node:
            parts.append(str(node.T))
        if "/Parent" not in node:
            break
        node = node.Parent
    return ".".join(reversed(parts))


if __name__ == "__main__":  # pragma: no cover
    _child()
