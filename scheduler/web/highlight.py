"""Evidence terms wrapped in ``<mark>`` inside otherwise escaped text.

Article text is untrusted: `highlight()` escapes every character of it and adds only ``<mark>``
elements of its own, so a ``<script>`` in a body is shown as text. Terms are found without regard to
case (the matcher normalises case too); overlapping terms mark the longest first.

Settings read: none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from markupsafe import Markup, escape


def highlight(text: str, terms: Iterable[str]) -> Markup:
    """`text`, escaped, with every occurrence of each term in ``<mark>``.

    Args:
        text: untrusted plain text.
        terms: the evidence terms (as written in the watchlist or gazetteer).

    Returns:
        Markup safe to insert in a page.
    """
    wanted = sorted({t for t in terms if t and t.strip()}, key=len, reverse=True)
    if not wanted:
        return escape(text)
    pattern = re.compile("|".join(re.escape(t) for t in wanted), re.IGNORECASE)
    parts: list[str] = []
    last = 0
    for found in pattern.finditer(text):
        parts.append(escape(text[last:found.start()]))
        parts.append(Markup("<mark>%s</mark>") % found.group(0))
        last = found.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)
