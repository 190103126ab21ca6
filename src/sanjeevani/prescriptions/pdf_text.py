"""A correct text layer for shaped scripts (Devanagari) in WeasyPrint's PDFs.

Why Hindi PDFs extracted garbled: a PDF maps each glyph id to one piece of text (the font's
ToUnicode CMap), once for the whole document. WeasyPrint gives each glyph the text of its
HarfBuzz cluster, first come first served. In Devanagari one glyph stands for different text
in different clusters: in "दि" the consonant glyph carries the whole cluster "दि" (the i-matra
glyph is drawn before it and carries nothing), so every later plain "द" extracts as "दि"
(दवाइयाँ -> दिवाइयाँ), and conjuncts with a reph do the same (वर्मा -> वमार्मा). Copy, search
and screen readers get wrong words. Subsetting, letter-spacing, hyphens, ``font-variant``
and ``text-rendering`` have nothing to do with it, and a different build of the font cannot
help: the map is per glyph, the meaning is per cluster.

The fix (after WeasyPrint pull request #2869, which is not released): every distinct
(glyph, text) pair gets its own glyph id. The static font files the renderer makes
(``rendering.static_font_files``) carry ``COPIES`` spare copies of every glyph, as composite
glyphs that draw the original. Before WeasyPrint draws a line, the line's glyphs are walked
as WeasyPrint will walk them; a glyph whose text differs from the text its id already stands
for in this document is rewritten to its next spare copy. The page looks the same; each
cluster's text is carried exactly once, in logical order, so extraction is exact, and the
PDF is still subset by HarfBuzz as before (no per-render font surgery).

Installed once per process by ``install()``; checked against the WeasyPrint version it was
written for (``SUPPORTED``), and a test extracts a Hindi PDF's text.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

log = logging.getLogger(__name__)

#: WeasyPrint major versions whose ``draw_first_line`` and ``Font`` this was written against.
SUPPORTED = (65, 66, 67, 68, 69, 70)
#: Spare copies of each glyph in the prepared fonts; a glyph needing more distinct texts in
#: one document than this keeps WeasyPrint's own (first-come) mapping for the rest.
COPIES = 8
#: Glyph count of each prepared font file -> glyph count of the font it was made from.
_PREPARED: dict[int, int] = {}


def register_prepared_font(glyph_count: int, original_count: int) -> None:
    _PREPARED[glyph_count] = original_count


class _Registry:
    """One per embedded font file (WeasyPrint merges the maps of fonts sharing a file)."""

    def __init__(self, original_count: int) -> None:
        self.original_count = original_count
        self.text: dict[int, str] = {}
        self.substitutes: dict[tuple[int, str], int] = {}
        self.copies_used: dict[int, int] = {}

    def glyph_for(self, glyph_id: int, text: str, drawn: dict[int, str]) -> int:
        """The id to draw for ``glyph_id`` carrying ``text``; ``drawn`` is the font's
        ToUnicode map so far (lines left to WeasyPrint, see ``_plain``, fill it directly)."""
        known = self.text.get(glyph_id)
        if known is None:
            known = drawn.get(glyph_id)
            if known is None:
                self.text[glyph_id] = text
                return glyph_id
            self.text[glyph_id] = known
        if known == text or glyph_id >= self.original_count:
            return glyph_id
        key = (glyph_id, text)
        if key not in self.substitutes:
            used = self.copies_used.get(glyph_id, 0)
            if used >= COPIES:
                return glyph_id
            self.copies_used[glyph_id] = used + 1
            substitute = glyph_id + (used + 1) * self.original_count
            self.substitutes[key] = substitute
            self.text[substitute] = text
        return self.substitutes[key]


def _registry(stream: Any, font: Any) -> _Registry | None:
    """The document's registry for this font file; None for fonts without spare copies."""
    if font.glyph_count not in _PREPARED:
        return None
    registry = getattr(font, "_rx_registry", None)
    if registry is None:
        for other in stream._fonts.values():
            registry = getattr(other, "_rx_registry", None)
            if registry is not None and other.hash == font.hash:
                break
        else:
            registry = _Registry(_PREPARED[font.glyph_count])
        font._rx_registry = registry
    return registry


def _plain(text: str) -> bool:
    """True when every character is one HarfBuzz shapes one-to-one with a glyph of its own
    (Latin, Latin-1, general punctuation): WeasyPrint's first-come map is already exact for
    such a line, and walking its glyphs is a tenth of an English render. Combining marks,
    joiners and every complex script (Devanagari, ...) take the careful path."""
    return all(
        ord(char) < 0x300 or 0x2010 <= ord(char) <= 0x2027 or 0x2030 <= ord(char) <= 0x205E
        for char in text
    )


def _assign_glyph_ids(stream: Any, textbox: Any) -> None:
    """Rewrite the first line's glyph ids so that each id stands for one text only. Mirrors
    the cluster arithmetic of WeasyPrint's ``draw_first_line``."""
    from weasyprint.text.ffi import ffi, pango

    layout = textbox.pango_layout
    pango.pango_layout_set_single_paragraph_mode(layout.layout, True)
    first_line, _index = layout.get_first_line()
    utf8_text = None
    empty, unknown = pango.PANGO_GLYPH_EMPTY, pango.PANGO_GLYPH_UNKNOWN_FLAG
    run = first_line.runs[0]
    while run != ffi.NULL:
        glyph_item = run.data
        run = run.next
        glyph_string = glyph_item.glyphs
        num_glyphs = glyph_string.num_glyphs
        font, _size = stream.add_font(glyph_item.item.analysis.font)
        registry = None if font.bitmap else _registry(stream, font)
        if registry is None:
            continue
        offset = glyph_item.item.offset
        length = glyph_item.item.length
        rtl = glyph_item.item.analysis.level % 2
        glyphs = glyph_string.glyphs
        # One cffi call for the cluster starts rather than one per glyph (this loop is the
        # text layer's whole cost).
        clusters = ffi.unpack(glyph_string.log_clusters, num_glyphs)
        to_unicode, known_text = font.to_unicode, registry.text
        utf8_text = utf8_text or layout.text.encode()
        last = num_glyphs - 1
        for i in range(num_glyphs):
            info = glyphs[i]
            glyph_id = info.glyph
            if glyph_id == empty or glyph_id & unknown:
                continue
            if rtl:
                t2 = length if i == 0 else clusters[i - 1]
            else:
                t2 = length if i == last else clusters[i + 1]
            text = utf8_text[offset + clusters[i] : offset + t2].decode(errors="replace")
            if known_text.get(glyph_id) == text:
                to_unicode.setdefault(glyph_id, text)
                continue
            new_id = registry.glyph_for(glyph_id, text, to_unicode)
            if new_id != glyph_id:
                info.glyph = new_id
                if new_id not in font.widths:
                    font.widths[new_id] = _glyph_width(
                        stream, glyph_item.item.analysis.font, glyph_id
                    )
            # WeasyPrint fills to_unicode on first sight; make it agree with the registry.
            to_unicode.setdefault(new_id, known_text[new_id])


def _glyph_width(stream: Any, pango_font: Any, glyph_id: int) -> int:
    """The original glyph's width as WeasyPrint computes it (the substitute is unknown to
    Pango, which would say 0 and misplace the text)."""
    from weasyprint.text.ffi import FROM_UNITS, pango

    pango.pango_font_get_glyph_extents(pango_font, glyph_id, stream.ink_rect, stream.logical_rect)
    _font, font_size = stream.add_font(pango_font)
    return round(stream.logical_rect.width * 1000 * FROM_UNITS / font_size)


def add_glyph_copies(ttfont: Any) -> int:
    """Append ``COPIES`` composite copies of every glyph (copy k of glyph g at id
    g + k * n); returns n, the original glyph count."""
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    order = list(ttfont.getGlyphOrder())
    count = len(order)
    glyf, hmtx = ttfont["glyf"], ttfont["hmtx"]
    glyph_set = ttfont.getGlyphSet()
    for copy in range(1, COPIES + 1):
        for name in order[:count]:
            pen = TTGlyphPen(glyph_set)
            pen.addComponent(name, (1, 0, 0, 1, 0, 0))
            new = f"{name}.rx{copy}"
            glyf.glyphs[new] = pen.glyph()
            hmtx.metrics[new] = hmtx.metrics[name]
            order.append(new)
    ttfont.setGlyphOrder(order)
    glyf.glyphOrder = order
    ttfont["maxp"].numGlyphs = len(order)
    for table in ("hdmx", "LTSH", "VDMX"):
        if table in ttfont:
            del ttfont[table]
    return count


@functools.lru_cache(maxsize=1)
def install() -> bool:
    """Patch WeasyPrint once; returns False (and logs) on an unsupported version."""
    import weasyprint
    from weasyprint.draw import text as draw_text

    major = int(weasyprint.__version__.split(".")[0])
    if major not in SUPPORTED:
        log.warning(
            "WeasyPrint %s is not one the Devanagari text-layer fix was written for; "
            "Hindi PDFs may extract garbled text.",
            weasyprint.__version__,
        )
        return False

    original_draw = draw_text.draw_first_line

    def draw_first_line(stream, textbox, text_overflow, block_ellipsis, matrix):
        # Ellipsis re-lays the line out inside; those lines keep WeasyPrint's own map.
        if (
            text_overflow != "ellipsis"
            and block_ellipsis == "none"
            and textbox.text.strip()
            and not _plain(textbox.text)
        ):
            _assign_glyph_ids(stream, textbox)
        return original_draw(stream, textbox, text_overflow, block_ellipsis, matrix)

    draw_text.draw_first_line = draw_first_line
    return True
