#!/usr/bin/python3
"""Writes the five 10x10 target patterns of `ecramsim paper` (data/patterns/*.pgm, ASCII P2).

The letters E, C, R, A, M, one per pattern: background at gray 26/255 (0.1 of the window), the
letter's strokes ramping from 153/255 (0.6) in column 0 to 255/255 (1.0) in column 9, so each
pattern holds many conductance levels, not two. Rerun to regenerate; the files are committed.
"""
import os

GLYPHS = {
    "E": ["..........", ".#######..", ".##.......", ".##.......", ".######...",
          ".######...", ".##.......", ".##.......", ".#######..", ".........."],
    "C": ["..........", "...#####..", "..##...##.", ".##.......", ".##.......",
          ".##.......", ".##.......", "..##...##.", "...#####..", ".........."],
    "R": ["..........", ".######...", ".##...##..", ".##...##..", ".######...",
          ".####.....", ".##.##....", ".##..##...", ".##...##..", ".........."],
    "A": ["..........", "....##....", "...####...", "..##..##..", ".##....##.",
          ".########.", ".##....##.", ".##....##.", ".##....##.", ".........."],
    "M": ["..........", ".##....##.", ".###..###.", ".########.", ".##.##.##.",
          ".##....##.", ".##....##.", ".##....##.", ".##....##.", ".........."],
}


def main():
    out = os.path.join(os.path.dirname(__file__), "..", "..", "data", "patterns")
    os.makedirs(out, exist_ok=True)
    for name, rows in GLYPHS.items():
        lines = ["P2", "# ecramsim target pattern: letter %s (tools/patterns/make_patterns.py)" % name,
                 "10 10", "255"]
        for row in rows:
            vals = []
            for c, ch in enumerate(row):
                vals.append(str(round(255 * (0.6 + 0.4 * c / 9))) if ch == "#" else "26")
            lines.append(" ".join(vals))
        with open(os.path.join(out, "letter_%s.pgm" % name.lower()), "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
