"""Appending cell formats to styles.xml with lxml: fonts, fills, borders, cellXfs and dxfs.

Existing entries are never renumbered or changed: a new entry goes at the end of its list (an
identical one is reused) and the list's count attribute follows. Styles are described by any object
with the attributes of `review.CellStyle` (fill, color, bold, italic, underline, size, wrap,
h_align, v_align, border, locked).
"""
from __future__ import annotations

from lxml import etree

FONT_NAME = "宋体"
BORDER_RGB = "BFBFBF"
_CHILD = {"fonts": "font", "fills": "fill", "borders": "border", "cellXfs": "xf", "dxfs": "dxf"}
# CT_Stylesheet's child order (ECMA-376 Part 1 §18.8.39): where a missing <dxfs> goes
_ORDER = ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles", "dxfs",
          "tableStyles", "colors", "extLst")


def _argb(rgb: str) -> str:
    return rgb if len(rgb) == 8 else "FF" + rgb


def _key(el) -> bytes:
    """Identity of an entry, whatever its prefixes or attribute order."""
    return etree.tostring(el, method="c14n", exclusive=True)


class StyleBook:
    def __init__(self, root):
        self.root = root
        self.ns = root.tag[:-len("styleSheet")]
        self.changed = False
        self._keys: dict[str, list[bytes]] = {}
        self.has_style_xf = False
        csx = root.find(self.ns + "cellStyleXfs")
        self.has_style_xf = csx is not None and csx.find(self.ns + "xf") is not None

    def _el(self, tag: str, attrib: dict | None = None, *children):
        el = etree.Element(self.ns + tag, {k: str(v) for k, v in (attrib or {}).items()}, nsmap=self.root.nsmap)
        for ch in children:
            el.append(ch)
        return el

    def _list(self, name: str):
        el = self.root.find(self.ns + name)
        if el is None:
            el = self._el(name)
            after = [self.root.find(self.ns + n) for n in _ORDER[:_ORDER.index(name)]]
            after = [a for a in after if a is not None]
            if after:
                after[-1].addnext(el)
            else:
                self.root.insert(0, el)
        return el

    def _index(self, name: str, entry) -> int:
        """The index of an identical entry of the list, or of `entry` appended to it."""
        lst = self._list(name)
        keys = self._keys.get(name)
        if keys is None:
            keys = self._keys[name] = [_key(e) for e in lst.iterchildren(self.ns + _CHILD[name])]
        k = _key(entry)
        if k in keys:
            return keys.index(k)
        lst.append(entry)
        keys.append(k)
        lst.set("count", str(len(keys)))
        self.changed = True
        return len(keys) - 1

    def _color(self, tag: str, rgb: str):
        return self._el(tag, {"rgb": _argb(rgb)})

    def _font(self, s):
        parts = [self._el(t) for t, on in (("b", s.bold), ("i", s.italic), ("u", s.underline)) if on]
        parts.append(self._el("sz", {"val": f"{s.size:g}"}))
        if s.color:
            parts.append(self._color("color", s.color))
        parts += [self._el("name", {"val": FONT_NAME}), self._el("family", {"val": 3}),
                  self._el("charset", {"val": 134})]
        return self._el("font", None, *parts)

    def _fill(self, rgb: str):
        return self._el("fill", None, self._el("patternFill", {"patternType": "solid"},
                                               self._color("fgColor", rgb), self._el("bgColor", {"indexed": 64})))

    def _border(self):
        sides = [self._el(x, {"style": "thin"}, self._color("color", BORDER_RGB))
                 for x in ("left", "right", "top", "bottom")]
        return self._el("border", None, *sides, self._el("diagonal"))

    def xf(self, s) -> int:
        """The cellXfs index of a cell style."""
        attrs = {"numFmtId": 0, "fontId": self._index("fonts", self._font(s)),
                 "fillId": self._index("fills", self._fill(s.fill)) if s.fill else 0,
                 "borderId": self._index("borders", self._border()) if s.border else 0}
        if self.has_style_xf:
            attrs["xfId"] = 0
        attrs["applyFont"] = 1
        if s.fill:
            attrs["applyFill"] = 1
        if s.border:
            attrs["applyBorder"] = 1
        attrs["applyAlignment"] = 1
        align = {}
        if s.h_align:
            align["horizontal"] = s.h_align
        align["vertical"] = s.v_align
        if s.wrap:
            align["wrapText"] = 1
        children = [self._el("alignment", align)]
        if not s.locked:
            attrs["applyProtection"] = 1
            children.append(self._el("protection", {"locked": 0}))
        return self._index("cellXfs", self._el("xf", attrs, *children))

    def dxf(self, s) -> int:
        """The dxfs index of a conditional format's style (font colour, fill)."""
        parts = []
        if s.color:
            parts.append(self._el("font", None, self._color("color", s.color)))
        if s.fill:
            parts.append(self._el("fill", None, self._el("patternFill", {"patternType": "solid"},
                                                         self._color("bgColor", s.fill))))
        return self._index("dxfs", self._el("dxf", None, *parts))
