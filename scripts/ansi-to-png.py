#!/usr/bin/env python3
"""Renders a `tmux capture-pane -e -p` capture (text with SGR colour codes) to a PNG.

Used to make the README screenshots from the real program:
    tmux capture-pane -e -p > shot.ansi && scripts/ansi-to-png.py shot.ansi assets/dashboard.png
Needs Pillow (pip install pillow) and the DejaVu Sans Mono font (Debian: fonts-dejavu-core).
"""
import re
import sys

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
SIZE = 15
DEFAULT_FG = (200, 211, 245)
DEFAULT_BG = (24, 26, 38)
BASIC = [(0, 0, 0), (205, 49, 49), (13, 188, 121), (229, 229, 16), (36, 114, 200),
         (188, 63, 188), (17, 168, 205), (229, 229, 229)]
BRIGHT = [(102, 102, 102), (241, 76, 76), (35, 209, 139), (245, 245, 67), (59, 142, 234),
          (214, 112, 214), (41, 184, 219), (255, 255, 255)]


def xterm256(n):
    if n < 8:
        return BASIC[n]
    if n < 16:
        return BRIGHT[n - 8]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    g = 8 + (n - 232) * 10
    return (g, g, g)


def parse(text):
    """Yields rows of (char, fg, bg, bold)."""
    rows = []
    fg, bg, bold = DEFAULT_FG, DEFAULT_BG, False
    for line in text.split("\n"):
        row = []
        pos = 0
        for m in re.finditer(r"\x1b\[([0-9;]*)m", line):
            for ch in line[pos:m.start()]:
                row.append((ch, fg, bg, bold))
            pos = m.end()
            codes = [int(c) if c else 0 for c in m.group(1).split(";")]
            i = 0
            while i < len(codes):
                c = codes[i]
                if c == 0:
                    fg, bg, bold = DEFAULT_FG, DEFAULT_BG, False
                elif c == 1:
                    bold = True
                elif c == 22:
                    bold = False
                elif 30 <= c <= 37:
                    fg = BASIC[c - 30]
                elif 90 <= c <= 97:
                    fg = BRIGHT[c - 90]
                elif 40 <= c <= 47:
                    bg = BASIC[c - 40]
                elif 100 <= c <= 107:
                    bg = BRIGHT[c - 100]
                elif c == 39:
                    fg = DEFAULT_FG
                elif c == 49:
                    bg = DEFAULT_BG
                elif c in (38, 48) and i + 1 < len(codes):
                    if codes[i + 1] == 2 and i + 4 < len(codes):
                        color = tuple(codes[i + 2:i + 5])
                        i += 4
                    elif codes[i + 1] == 5 and i + 2 < len(codes):
                        color = xterm256(codes[i + 2])
                        i += 2
                    else:
                        color = DEFAULT_FG if c == 38 else DEFAULT_BG
                    if c == 38:
                        fg = color
                    else:
                        bg = color
                i += 1
        for ch in line[pos:]:
            row.append((ch, fg, bg, bold))
        rows.append(row)
    while rows and not rows[-1]:
        rows.pop()
    return rows


def main(src, dst):
    rows = parse(open(src, encoding="utf-8").read())
    font = ImageFont.truetype(FONT, SIZE)
    bold_font = ImageFont.truetype(BOLD, SIZE)
    cw = int(font.getlength("M"))
    ch = SIZE + 4
    width = max(len(r) for r in rows)
    img = Image.new("RGB", (width * cw + 16, len(rows) * ch + 16), DEFAULT_BG)
    draw = ImageDraw.Draw(img)
    for y, row in enumerate(rows):
        for x, (c, fg, bg, bold) in enumerate(row):
            px, py = 8 + x * cw, 8 + y * ch
            if bg != DEFAULT_BG:
                draw.rectangle([px, py, px + cw, py + ch], fill=bg)
            if c != " ":
                draw.text((px, py + 1), c, font=bold_font if bold else font, fill=fg)
    img.save(dst)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
