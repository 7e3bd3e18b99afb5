"""The integration images: a 120x50 PNG wordmark of the product each integration connects to.

Plain text in Pillow's bundled font - no vendor artwork - written by `python -m devtools.playbook_images` and
checked by its `--check` (and tests/test_playbook_images.py): right size, within validate's 10 KB, current.
"""
import io
import os

from PIL import Image, ImageDraw, ImageFont

from devtools.paths import ROOT

SIZE = (120, 50)
MAX_BYTES = 10 * 1024
# integration folder -> (first word, second word, colour of the first word)
WORDMARKS: dict[str, tuple[str, str, tuple[int, int, int]]] = {
    'CortexXDRResponse': ('Cortex', 'XDR', (250, 88, 45)),
    'CylanceOpticsPackages': ('Cylance', 'Optics', (0, 150, 136)),
}
INK = (38, 50, 56)
MIN_FONT_SIZE = 8  # a word that does not fit at this size is drawn at it anyway


def _fitting_font(draw: ImageDraw.ImageDraw, text: str, width: int,
                  start: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    size = start
    while size > MIN_FONT_SIZE and draw.textlength(text, font=ImageFont.load_default(size=size)) > width:
        size -= 1
    return ImageFont.load_default(size=size)


def wordmark(first: str, second: str, colour: tuple[int, int, int]) -> bytes:
    """Two words on two lines, centred, on a transparent background."""
    image = Image.new('RGBA', SIZE, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    top = _fitting_font(draw, first, SIZE[0] - 8, 22)
    bottom = _fitting_font(draw, second, SIZE[0] - 8, 18)
    for text, font, y, fill in ((first, top, 2, colour), (second, bottom, 27, INK)):
        x = (SIZE[0] - draw.textlength(text, font=font)) / 2
        draw.text((round(x), y), text, font=font, fill=fill + (255,))
    buffer = io.BytesIO()
    image.save(buffer, format='PNG', optimize=True)
    return buffer.getvalue()


def logo_images(root: str = ROOT) -> dict[str, bytes]:
    """Integrations/<name>/<name>_image.png (relative to root) -> PNG bytes, for every integration listed."""
    images = {}
    for name, (first, second, colour) in sorted(WORDMARKS.items()):
        if os.path.isdir(os.path.join(root, 'Integrations', name)):
            images[os.path.join('Integrations', name, name + '_image.png')] = wordmark(first, second, colour)
    return images
