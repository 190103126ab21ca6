"""Where each of the 36 states and union territories sits on the hex-tile map.

A tile map gives every state the same area, so a small state with a large service (Goa,
Delhi) is as visible as a large one, and it draws as 36 hexagons: a few kilobytes on a slow
link, where a boundary map would be hundreds. The layout follows the country's shape
roughly: north at the top, the north-east to the right, the islands off the coasts.

Rows are offset every other row (odd rows shift half a tile right), pointy-top hexagons.
"""

from __future__ import annotations

#: State or UT code (``registry/data/states.csv``) -> (column, row).
TILES: dict[str, tuple[int, int]] = {
    "JK": (3, 0),
    "LA": (4, 0),
    "PB": (2, 1),
    "HP": (3, 1),
    "UK": (4, 1),
    "AR": (9, 1),
    "CH": (2, 2),
    "HR": (3, 2),
    "DL": (4, 2),
    "UP": (5, 2),
    "BR": (6, 2),
    "SK": (7, 2),
    "AS": (8, 2),
    "NL": (9, 2),
    "RJ": (2, 3),
    "MP": (3, 3),
    "CG": (4, 3),
    "JH": (5, 3),
    "WB": (6, 3),
    "ML": (7, 3),
    "TR": (8, 3),
    "MN": (9, 3),
    "GJ": (1, 4),
    "DH": (2, 4),
    "MH": (3, 4),
    "TG": (4, 4),
    "OD": (5, 4),
    "MZ": (8, 4),
    "GA": (2, 5),
    "KA": (3, 5),
    "AP": (4, 5),
    "AN": (7, 5),
    "LD": (2, 6),
    "KL": (3, 6),
    "TN": (4, 6),
    "PY": (5, 6),
}

COLUMNS = max(col for col, _row in TILES.values()) + 1
ROWS = max(row for _col, row in TILES.values()) + 1
