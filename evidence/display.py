"""Numbers and snippets as the paper prints them, for display only (the store keeps the
verbatim values). Pure: no Streamlit, no plotting."""
from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

# a word broken at the end of a printed line: "treat-" + newline + "ment"
_HYPHEN_BREAK = re.compile(r"([A-Za-z])-[ \t]*\r?\n[ \t]*([a-z])")
# a hyphenated name broken at a line end keeps its hyphen: "FOLFOX-" + newline + "HAIC"
_NAME_BREAK = re.compile(r"([A-Za-z0-9])-[ \t]*\r?\n[ \t]*([A-Z0-9])")
_SPACE = re.compile(r"\s+")


def round_half_up(x: float, decimals: int = 1) -> float:
    """Rounded as papers round (6.25 -> 6.3), not to even as Python's round() and format do (6.2)."""
    q = Decimal(1).scaleb(-decimals)
    return float(Decimal(repr(float(x))).quantize(q, rounding=ROUND_HALF_UP))


def percent_text(count=None, denominator=None, printed=None, decimals: int = 1) -> str:
    """'6.3%': the printed percent where the paper prints one, else count/denominator rounded
    half up to the paper's decimals. '' when neither is known."""
    if printed is not None and printed == printed:          # NaN is not a printed value
        return f"{float(printed):g}%"                         # the stored float keeps what was printed
    if count is None or denominator in (None, 0) or count != count or denominator != denominator:
        return ""
    return f"{round_half_up(100.0 * float(count) / float(denominator), decimals):.{decimals}f}%"


def display_snippet(snippet: str, source: str | None = None) -> str:
    """A snippet as a reader wants it: from the start of its first word, with words hyphenated
    across a line break joined ('treat-\\nment' -> 'treatment'). The stored snippet is unchanged.

    source: the paper's text; where the snippet starts inside a word there ('ment allocation'),
    the beginning of that word is put back ('treatment allocation').
    """
    text = str(snippet)
    if source:
        text = _from_word_start(text, source)
    text = _NAME_BREAK.sub(r"\1-\2", _HYPHEN_BREAK.sub(r"\1\2", text))
    return _SPACE.sub(" ", text).strip()


def _from_word_start(snippet: str, source: str) -> str:
    flat_source = _SPACE.sub(" ", source)
    flat = _SPACE.sub(" ", snippet).strip()
    i = flat_source.find(flat)
    if i <= 0:
        return snippet
    j = i
    while j > 0 and flat_source[j - 1].isalnum():           # inside a word
        j -= 1
    if j == i and i >= 3 and flat_source[i - 1] == " " and flat_source[i - 2] == "-" \
            and flat_source[i - 3].isalpha() and flat[:1].islower():
        # the word was broken at a line end: "treat- ment": take back the part before the break
        j = i - 2
        while j > 0 and flat_source[j - 1].isalpha():
            j -= 1
        return flat_source[j:i - 2] + flat
    return flat_source[j:i] + snippet if j < i else snippet
