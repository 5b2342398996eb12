"""Cells that wrap where a reader expects: after a space, a dot, a slash, a colon or a hyphen,
before a bracket; never inside a word or a camelCase name (``deletionProtectio`` / ``n``).

rich wraps only at spaces and folds anything longer mid-token, so the report lays out its own
columns: each column gets at least its longest unbreakable piece, the width left over goes to
the columns named first until each shows its longest line whole, and cells are wrapped here,
before rich prints them at exactly those widths. Only a piece wider than the whole column (a
digest in a column of 20) is cut, as the last resort.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# A line may end after these (a run of them stays together: "::", ", ") ...
BREAK_AFTER = frozenset(" ./,:-=&?;|")
# ... or before these: "containerDefinitions" / "[0].cpu".
BREAK_BEFORE = frozenset("[({")
GAP = 2  # between two columns: a cell's right padding and the (blank) divider
# Tabs (a Caddyfile's indentation) become spaces before measuring: rich would print a tab 8 wide
# where the layout counted 1, and fold the line mid-token.
TAB = 4


def pieces(text: str) -> list[str]:
    """``text`` cut at every place a line may end; joined, the pieces are ``text``."""
    out: list[str] = []
    current = ""
    for i, char in enumerate(text):
        if char in BREAK_BEFORE and current and current[-1] not in BREAK_BEFORE:
            out.append(current)
            current = ""
        current += char
        following = text[i + 1] if i + 1 < len(text) else ""
        # Not after a leading separator: "-1" and "/path" stay whole.
        after = char in BREAK_AFTER and following and following not in BREAK_AFTER
        if after and current.strip(char):
            out.append(current)
            current = ""
    if current:
        out.append(current)
    return out


def longest_piece(text: str) -> int:
    lines = text.expandtabs(TAB).split("\n")
    return max((len(p.strip()) for line in lines for p in pieces(line)), default=0)


def longest_line(text: str) -> int:
    return max((len(line) for line in text.expandtabs(TAB).split("\n")), default=0)


def wrap(text: str, width: int, indent: int = 0) -> list[str]:
    """``text`` in lines of at most ``width``, broken between pieces; continuation lines of a
    paragraph start ``indent`` spaces in (a hanging value). A piece wider than a line is cut."""
    lines: list[str] = []
    width = max(1, width)
    indent = indent if indent < width // 2 else 0  # a column too narrow to hang a value in
    for paragraph in text.expandtabs(TAB).split("\n"):
        line = ""
        for piece in pieces(paragraph):
            if len(line) + len(piece.rstrip()) <= width or not line.strip():
                line += piece
            else:
                lines.append(line.rstrip())
                line = " " * indent + piece.lstrip()
            while len(line.rstrip()) > width:  # one piece wider than the column
                lines.append(line[:width])
                line = " " * indent + line[width:]
        lines.append(line.rstrip())
    return lines


@dataclass(frozen=True)
class Column:
    """One column's header and cells, as plain text (``\\n`` between lines of a cell)."""

    header: str
    cells: Sequence[str]
    whole: bool = False
    """Its lines must never wrap (a stage's values beside the other stages')."""
    indent: int = 0
    """Where a wrapped line continues (under the value of ``stage  value``)."""

    @property
    def least(self) -> int:
        """Its header whole, and every cell's longest piece (or line, when ``whole``)."""
        measure = longest_line if self.whole else longest_piece
        return max([len(self.header), *(measure(t) for t in self.cells)])

    @property
    def want(self) -> int:
        return max(longest_line(t) for t in [self.header, *self.cells])


def fit(columns: Sequence[Column], width: int, first: Sequence[int] = ()) -> list[int] | None:
    """Column widths that fill at most ``width`` with no piece split: the spare width goes to
    the columns at indices ``first``, in that order, until each shows its longest line whole,
    then to the rest in proportion to what each lacks; None when the pieces alone do not fit."""
    room = width - GAP * (len(columns) - 1)
    widths = [c.least for c in columns]
    spare = room - sum(widths)
    if spare < 0:
        return None
    for i in first:
        more = min(spare, columns[i].want - widths[i])
        widths[i] += more
        spare -= more
    rest = [i for i in range(len(columns)) if i not in first]
    short = {i: columns[i].want - widths[i] for i in rest}
    need = sum(short.values())
    for i in rest:  # the others share what is left, each in proportion to what it lacks
        widths[i] += short[i] if need <= spare else spare * short[i] // need
    return widths


def shares(width: int, ratios: Sequence[int]) -> list[int]:
    """Widths in proportion to ``ratios`` (the last resort, when pieces must be cut)."""
    room = width - GAP * (len(ratios) - 1)
    out = [max(1, room * r // sum(ratios)) for r in ratios]
    out[-1] += room - sum(out)
    return out
