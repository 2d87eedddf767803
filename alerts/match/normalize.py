"""Text normalisation for matching, with a map back to the original text.

Terms, gazetteer aliases and documents all go through the same steps, so "Trường Sa", "Truong Sa"
and "TRUONG-SA" meet in the same spelling:

* Unicode compatibility folding (NFKC): full-width Latin and digits, half-width katakana, ligatures;
* accents removed from Latin letters (Vietnamese included: "đ" becomes "d");
* traditional Chinese (and Japanese shinjitai) characters that occur in our aliases mapped to their
  simplified form ("釣魚臺" and "钓鱼台" meet), from the small table ``_TRAD_TO_SIMP``;
* hyphens, dashes and white space other than line breaks become one plain space (line breaks stay, as
  sentence boundaries); curly quotes become straight;
* a lower-case copy (``folded``) of the same length for case-free matching; the case-kept copy
  (``cased``) lets acronyms such as ``PLA`` be checked for their exact case.

``NormalizedText.to_original`` turns a position in the normalised text back into a position in the
original, so evidence sentences are shown as the author wrote them.

Settings read: none.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass

logger = logging.getLogger(__name__)

# Traditional (and Japanese) forms of characters used in the shipped aliases → simplified forms.
# Extend it when you add an alias whose traditional spelling differs in other characters.
_TRAD_TO_SIMP = {
    "釣": "钓",
    "魚": "鱼",
    "臺": "台",
    "島": "岛",
    "嶼": "屿",
    "羣": "群",
    "東": "东",
    "國": "国",
    "黃": "黄",
    "巖": "岩",
    "灣": "湾",
    "門": "门",
    "軍": "军",
    "艦": "舰",
    "衛": "卫",
    "隊": "队",
    "閣": "阁",
    "諸": "诸",
    "華": "华",
    "陸": "陆",
    "與": "与",
    "來": "来",
    "沖": "冲",
    "繩": "绳",
    "濱": "滨",
    "嚴": "严",
    "濟": "济",
    "環": "环",
    "礁": "礁",
    "灘": "滩",
    "線": "线",
    "峽": "峡",
    "爭": "争",
    "議": "议",
    "海警": "海警",
    "裝": "装",
    "備": "备",
    "販": "贩",
    "賣": "卖",
    "買": "买",
    "彈": "弹",
    "導": "导",
    "機": "机",
    "戰": "战",
    "鬥": "斗",
    "闘": "斗",
    "潛": "潜",
    "潜": "潜",
    "艇": "艇",
    "輸": "输",
    "出": "出",
    "協": "协",
    "約": "约",
    "領": "领",
    "們": "们",
    "亞": "亚",
    "黨": "党",
    "鐵": "铁",
    "劍": "剑",
    "礦": "矿",
    "歐": "欧",
    "聯": "联",
    "盟": "盟",
    "萬": "万",
    "獨": "独",
    "竜": "龙",
    "龍": "龙",
    "澎": "澎",
    "湖": "湖",
    "錨": "锚",
    "護": "护",
    "衞": "卫",
    "広": "广",
    "廣": "广",
    "沙": "沙",
    "員": "员",
    "紛": "纷",
    "張": "张",
    "緊": "紧",
    "對": "对",
}
_TRAD_TO_SIMP = {k: v for k, v in _TRAD_TO_SIMP.items() if len(k) == 1 and k != v}

# Characters NFKC would expand but we want as one character (keeps offsets cheap).
_SINGLE = {"…": ".", "‥": ".", "′": "'", "″": '"'}
_SPACE_LIKE = set("-‐‑‒–—―−﹘﹣－\u00a0\u2007\u202f\u3000")
_QUOTES = {"‘": "'", "’": "'", "‚": "'", "‛": "'", "ʼ": "'", "“": '"', "”": '"', "„": '"', "‟": '"'}
_EXTRA = {"đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss"}


def _fold_char(ch: str) -> str:
    """The normalised (case-kept) spelling of one character; may be empty or longer than one."""
    if ch in _SINGLE:
        return _SINGLE[ch]
    if ch in "\n\r\u2028\u2029\x85":
        return "\n"
    if ch in _SPACE_LIKE or ch.isspace():
        return " "
    if ch in _QUOTES:
        return _QUOTES[ch]
    if ch in _EXTRA:
        return _EXTRA[ch]
    out = []
    for c in unicodedata.normalize("NFKC", ch):
        c = _TRAD_TO_SIMP.get(c, c)
        if unicodedata.combining(c):
            # A lone combining mark after a Latin letter (decomposed input): drop it.
            continue
        decomposed = unicodedata.normalize("NFD", c)
        if len(decomposed) > 1 and decomposed[0].isascii():
            c = "".join(x for x in decomposed if not unicodedata.combining(x))
        out.append(_EXTRA.get(c, c))
    return "".join(out)


_CACHE: dict[str, str] = {}


def _map(ch: str) -> str:
    got = _CACHE.get(ch)
    if got is None:
        got = _fold_char(ch)
        _CACHE[ch] = got
    return got


def _lower(s: str, caseless: bool = False) -> str:
    """``s`` in lower case, character for character (one whose lower case is longer is kept as it is).

    ``caseless``: every non-ASCII character of ``s`` is its own lower case (CJK, most punctuation), so
    only ASCII letters change. Lowering the UTF-8 bytes then gives the same text (multi-byte sequences
    hold no ASCII byte) in about 8 us for a 5 KB article, where ``str.lower`` looks up every character's
    case (about 20 us once the text holds a single non-ASCII character).
    """
    if caseless:
        return s.encode("utf-8", "surrogatepass").lower().decode("utf-8", "surrogatepass")
    low = s.lower()
    if len(low) == len(s):
        return low
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in s)


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """A normalised text and the way back to the original.

    Attributes:
        original: the text as given.
        cased: normalised text, case kept.
        folded: ``cased`` in lower case, same length and alignment.
        breaks: normalised positions where the offset to the original changes.
        deltas: original minus normalised position, valid from the matching break on.
    """

    original: str
    cased: str
    folded: str
    breaks: tuple[int, ...] = ()
    deltas: tuple[int, ...] = ()

    def to_original(self, pos: int) -> int:
        """Map a position in the normalised text to the position in the original text.

        Args:
            pos: index into ``cased``/``folded`` (``len`` allowed, for an end position).

        Returns:
            The index of the same character in ``original``.
        """
        if not self.breaks:
            return pos
        i = bisect_right(self.breaks, pos) - 1
        return pos if i < 0 else pos + self.deltas[i]


def _collapse(cased: str, i: int) -> tuple[str, tuple[int, ...], tuple[int, ...]]:
    """Collapse runs of spaces (the first at ``i``) to one; breaks and deltas map the result back."""
    breaks: list[int] = []
    deltas: list[int] = []
    pieces: list[str] = []
    last = 0
    removed = 0
    find = cased.find
    while i >= 0:
        j = i + 2
        while cased.startswith(" ", j):
            j += 1
        pieces.append(cased[last : i + 1])
        last = j
        breaks.append(i + 1 - removed)
        removed += j - i - 1
        deltas.append(removed)
        i = find("  ", j)
    pieces.append(cased[last:])
    return "".join(pieces), tuple(breaks), tuple(deltas)


def normalize(text: str) -> NormalizedText:
    """Normalise a text for matching (see the module docstring for the steps).

    Args:
        text: any text: a title, a teaser, an article body.

    Returns:
        The normalised text with its case-kept and folded forms and the offset map.
    """
    if text.isascii():
        # Plain ASCII (most titles): nothing to fold but case, hyphens and odd white space.
        if "-" not in text and "  " not in text and not _needs_ascii_fix(text):
            return NormalizedText(text, text, text.lower())
        cased = text
        caseless = False  # str.lower is as fast on ASCII
    else:
        # The distinct non-ASCII characters, found in C: UTF-8 bytes less the ASCII ones.
        others = set(
            text.encode("utf-8", "surrogatepass").translate(None, _ASCII_BYTES).decode("utf-8", "surrogatepass")
        )
        changes = {}
        resized = []  # characters that expand or vanish: they move every offset after them
        caseless = True  # no non-ASCII character of the result has a case (see ``_lower``)
        for ch in others:
            mapped = _CACHE.get(ch) or _map(ch)
            if len(mapped) != 1:
                resized.append(ch)
                continue
            if mapped != ch:
                changes[ch] = mapped
            if caseless and not mapped.isascii() and mapped.lower() != mapped:
                caseless = False
        cased = text
        if changes.keys().isdisjoint(changes.values()):
            for ch, mapped in changes.items():
                cased = cased.replace(ch, mapped)
        else:  # a replacement would be replaced again: map each character once
            parts = _NON_ASCII_SPLIT.split(text)
            parts[1::2] = [changes.get(ch, ch) for ch in parts[1::2]]
            cased = "".join(parts)
        if resized:
            # The one-for-one changes are made (every offset kept); the rest goes one event at a time.
            return _normalize_slow(text, cased, resized)
    # The same order as the character table: non-ASCII first, then \r, then ASCII space-likes.
    cased = cased.replace("\r", "\n").replace("-", " ")  # replace() returns the same str when absent
    if "\t" in cased or "\x0b" in cased or "\x0c" in cased:
        cased = cased.replace("\t", " ").replace("\x0b", " ").replace("\x0c", " ")
    first = cased.find("  ")
    if first < 0:
        return NormalizedText(text, cased, _lower(cased, caseless))
    collapsed, breaks, deltas = _collapse(cased, first)
    return NormalizedText(text, collapsed, _lower(collapsed, caseless), breaks, deltas)


def _needs_ascii_fix(text: str) -> bool:
    return "\t" in text or "\r" in text or "\x0b" in text or "\x0c" in text


_NON_ASCII_SPLIT = re.compile(r"([^\x00-\x7f])")
_ASCII_BYTES = bytes(range(128))


class _Builder:
    """Builds a normalised text with its offset map, one original character or plain run at a time.

    Spaces are collapsed as they come: a character that maps to one space is dropped after a piece
    that ended in a space. Every original character is checked for a change of offset before it is
    emitted, so the breaks are the same whether a run of plain characters is copied whole or not.
    """

    __slots__ = ("breaks", "delta", "deltas", "out", "pos", "prev_space")

    def __init__(self) -> None:
        self.out: list[str] = []
        self.breaks: list[int] = []
        self.deltas: list[int] = []
        self.delta = 0
        self.pos = 0  # normalised position
        self.prev_space = False

    def char(self, i: int, mapped: str) -> None:
        if mapped == " ":
            if self.prev_space:
                mapped = ""
            self.prev_space = True
        elif mapped:
            self.prev_space = mapped.endswith(" ")
        pos = self.pos
        new_delta = i - pos
        if new_delta != self.delta or (not self.breaks and new_delta):
            self.breaks.append(pos)
            self.deltas.append(new_delta)
            self.delta = new_delta
        if len(mapped) > 1:
            # Every extra character of an expansion points back at the same original character.
            self.out.append(mapped)
            for _ in mapped[1:]:
                pos += 1
                self.breaks.append(pos)
                self.delta = i - pos
                self.deltas.append(self.delta)
            self.pos = pos + 1
        elif mapped:
            self.out.append(mapped)
            self.pos = pos + 1

    def run(self, text: str, start: int, end: int) -> None:
        """Copy ``text[start:end]``: characters that map to themselves, never two spaces in a row."""
        if self.prev_space and text[start] == " ":
            self.char(start, " ")  # dropped
            start += 1
            if start == end:
                return
        new_delta = start - self.pos
        if new_delta != self.delta or (not self.breaks and new_delta):
            self.breaks.append(self.pos)
            self.deltas.append(new_delta)
            self.delta = new_delta
        self.out.append(text[start:end])
        self.pos += end - start
        self.prev_space = text[end - 1] == " "


def _normalize_slow(text: str, mapped: str, resized: list[str]) -> NormalizedText:
    """For the texts where a character expands or vanishes: events one by one, plain runs whole.

    ``mapped``: ``text`` with its one-for-one changes made (same length); ``resized``: the characters
    that expand or vanish. Only those, the ASCII characters the table changes and runs of space-likes
    are events, so a page in another script costs its few odd characters, not a call per character.
    Before, every non-ASCII character was an event: a Cyrillic or Vietnamese page with one ligature
    cost a Python call per letter, two thirds of ``Matcher.match``'s instructions on the bench's real
    pages. The result is the same (text, offsets and breaks of 87,308 texts compared: the labelled
    items, the bench's articles and pages, the corpus files and 20,000 made-up mixtures).
    """
    b = _Builder()
    last = 0
    events = re.compile(f"[{re.escape(''.join(sorted(resized)))}]|{_ASCII_EVENT}")  # cached by ``re``
    for m in events.finditer(mapped):
        i, j = m.span()
        if i > last:
            b.run(mapped, last, i)
        for k in range(i, j):
            b.char(k, _map(text[k]))
        last = j
    if last < len(mapped):
        b.run(mapped, last, len(mapped))
    cased = "".join(b.out)
    return NormalizedText(text, cased, _lower(cased), tuple(b.breaks), tuple(b.deltas))


# ASCII characters the table changes (line and space variants, hyphen), and those that become a space.
_ASCII_CHANGED = "".join(c for c in map(chr, range(128)) if _fold_char(c) != c)
_ASCII_SPACES = "".join(c for c in map(chr, range(128)) if _fold_char(c) == " ")
# What the slow path must look at one character at a time, besides the characters that expand or
# vanish: runs of characters that become spaces, and changed ASCII characters; the rest is copied.
_ASCII_EVENT = f"[{re.escape(_ASCII_SPACES)}]{{2,}}|[{re.escape(_ASCII_CHANGED)}]"


def normalize_term(term: str) -> str:
    """Normalise a watchlist term or gazetteer alias, case kept, trimmed.

    Args:
        term: the term as written in config or the gazetteer.

    Returns:
        Its normalised spelling (compare ``.lower()`` of it with ``NormalizedText.folded``).
    """
    return normalize(term.strip()).cased.strip()


def is_cjk(ch: str) -> bool:
    """Whether a character belongs to a script written without spaces between words.

    Han, kana and Hangul count: a CJK term needs no word boundary around it ("钓鱼岛附近" holds
    "钓鱼岛"; Korean particles attach to the noun, as in "독도는").
    """
    o = ord(ch)
    return (
        0x3040 <= o <= 0x30FF  # hiragana, katakana
        or 0x3400 <= o <= 0x4DBF
        or 0x4E00 <= o <= 0x9FFF
        or 0xF900 <= o <= 0xFAFF
        or 0xAC00 <= o <= 0xD7AF  # Hangul syllables
        or 0x1100 <= o <= 0x11FF
        or 0x20000 <= o <= 0x2FFFF
    )


def is_word_char(ch: str) -> bool:
    """Whether a character continues a space-separated word (letters and digits, not CJK)."""
    return ch.isalnum() and not is_cjk(ch)
