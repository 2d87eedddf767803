"""Which language an article is written in, detected from its text when the page does not say (or lies).

Pages declare a language in ``<html lang>`` or meta tags, but templates often declare ``en`` on every
page of a site, and feed items with no page declare nothing. The workbench filters by language and
the evaluation reports figures per language, so every article gets one: the detector's answer when it
is confident, the page's declaration when the detector agrees with it (a declaration is more specific:
``zh-tw`` rather than ``zh``) or when the detector is unsure.

The detector is py3langid (a numpy port of langid.py, BSD licence): its model ships inside the
package, so nothing is downloaded at run time, and it classifies a headline in well under a
millisecond once loaded. It is restricted to the languages newswatch's users meet (the region's, and
the major world languages), which removes most confusions with rare languages on short headlines.
Indonesian and Malay are close enough that the detector mixes them up; a page that declares one of
the two keeps its declaration.

Settings read: none.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

LANGUAGES = (
    "ar", "bn", "de", "en", "es", "fr", "hi", "id", "it", "ja", "km", "ko", "lo", "ms", "my", "nl", "pt",
    "ru", "th", "tl", "ur", "vi", "zh",
)
CONFIDENT = 0.5  # normalised probability above which the detector's answer beats a declaration
SAMPLE_CHARS = 2000  # title plus the start of the text is plenty and keeps detection cheap
_SAME_FAMILY = ({"id", "ms"},)  # pairs the detector confuses; a declaration among them is kept


@functools.cache
def _identifier() -> Any:
    """The detector, loaded once per process (about a second: the model is decompressed)."""
    from py3langid import langid

    identifier = langid.LanguageIdentifier.from_modelpath(Path(langid.__file__).parent / langid.MODEL_FILE,
                                                          norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    return identifier


def detect_language(title: str, text: str = "", declared: str | None = None) -> str | None:
    """The article's language tag (``en``, ``zh-tw``, ``vi``…), or None when nothing can tell.

    Args:
        title: the headline.
        text: the body or teaser (only the first ``SAMPLE_CHARS`` characters are read).
        declared: what the page or feed declared, already normalised to a lower-case tag.
    """
    sample = f"{title}\n{text}"[:SAMPLE_CHARS]
    if sum(ch.isalpha() for ch in sample) < 3:
        return declared
    language, probability = _identifier().classify(sample)
    if probability < CONFIDENT:
        return declared
    if declared:
        primary = declared.split("-")[0]
        if primary == language or any({primary, language} <= family for family in _SAME_FAMILY):
            return declared
    return str(language)
