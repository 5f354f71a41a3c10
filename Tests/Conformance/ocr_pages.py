"""Pages with known text for the OCR tests and benchmark: English sentences drawn with DejaVu Sans
(Debian's fonts-dejavu-core) at 300 dpi, in colour, gray or black and white, optionally turned by
a quarter or skewed a few degrees, with every word's pixel box."""
import math
import random

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
DPI = 300

SENTENCES = [
    "The records office scans every contract before the archive closes in the evening.",
    "Each page keeps its image exactly as the scanner delivered it to the service.",
    "An invisible layer of text lets readers search and select the printed words.",
    "Clerks compare the signatures with the register that the notary keeps.",
    "Shipping invoices from March arrived late because the courier lost two boxes.",
    "Please return the signed form together with a copy of your identity card.",
    "The committee approved the budget for new filing cabinets and shelves.",
    "Water damage on older folders makes some letters hard to read by eye.",
    "Reports are printed on both sides and stapled in the upper left corner.",
    "Every department sends its monthly summary to the central office.",
    "Invoices older than seven years may be destroyed after a final review.",
    "The building manager changed the locks on the basement storage rooms.",
    "Daily backups are written to two disks kept in separate buildings.",
    "Visitors must sign the guest book at the front desk when they arrive.",
]


def words_of(sentences):
    return [w for s in sentences for w in s.split()]


def text_page(mode="rgb", turn=0, skew=0.0, lines=12, width_inches=8.27, height_inches=11.69, seed=1, margin=150):
    """A page and its words: `mode` rgb, gray or bw; `turn` 0 or 90 (counter-clockwise);
    `skew` degrees. Returns (PIL image, [(word, (left, top, right, bottom))]) in the final
    image's pixels."""
    rng = random.Random(seed)
    width, height = int(width_inches * DPI), int(height_inches * DPI)
    font = ImageFont.truetype(FONT, 50)             # 12 pt at 300 dpi
    ink, paper = ((20, 40, 120), (250, 246, 235)) if mode == "rgb" else ((0, 0, 0), (255, 255, 255))
    page = Image.new("RGB", (width, height), paper)
    draw = ImageDraw.Draw(page)
    words = []
    y = margin
    chosen = [SENTENCES[rng.randrange(len(SENTENCES))] for _ in range(lines)]
    for sentence in chosen:
        x = margin
        for word in sentence.split():
            box = draw.textbbox((x, y), word, font=font)
            if box[2] > width - margin:
                x = margin
                y += 90
                box = draw.textbbox((x, y), word, font=font)
            draw.text((x, y), word, font=font, fill=ink)
            words.append((word, box))
            x = box[2] + draw.textlength(" ", font=font)
        y += 90
        if y > height - margin - 90:
            break
    if skew:
        page, words = _rotate(page, words, skew, paper)
    if turn == 90:
        w = page.width
        page = page.transpose(Image.Transpose.ROTATE_90)
        # A quarter turn counter-clockwise: (x, y) goes to (y, w - x).
        words = [(word, (b[1], w - b[2], b[3], w - b[0])) for word, b in words]
    if mode == "gray":
        page = page.convert("L")
    elif mode == "bw":
        page = page.convert("L").point(lambda v: 255 if v > 128 else 0).convert("1")
    return page, words


def _rotate(page, words, degrees, paper):
    """Turns the page `degrees` counter-clockwise about its centre (same size); each word's box
    becomes the box around its turned corners."""
    turned = page.rotate(degrees, resample=Image.Resampling.BICUBIC, fillcolor=paper)
    cx, cy = page.width / 2, page.height / 2
    a = math.radians(degrees)
    moved = []
    for word, (l, t, r, b) in words:
        xs, ys = [], []
        for x, y in ((l, t), (r, t), (l, b), (r, b)):
            dx, dy = x - cx, y - cy
            # PIL turns counter-clockwise on screen (y down): x' = cx + dx cos + dy sin, y' = cy - dx sin + dy cos
            xs.append(cx + dx * math.cos(a) + dy * math.sin(a))
            ys.append(cy - dx * math.sin(a) + dy * math.cos(a))
        moved.append((word, (min(xs), min(ys), max(xs), max(ys))))
    return turned, moved
