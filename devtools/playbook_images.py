"""Draw each playbook as doc_files/<playbook>.png, top to bottom like the XSOAR editor, from its YAML.

    python -m devtools.playbook_images            # write every image (and the integration logos)
    python -m devtools.playbook_images --check    # exit 1 when an image or logo is not current

Every task is a box with its type (and the command, script or sub-playbook it runs) above its name; every link
is an arrow, labelled with its branch ('yes', 'windows', 'else', ...) when it leaves a condition. The layout is
grandalf's Sugiyama layering (pure Python), the drawing Pillow with its bundled FreeType font, so the same YAML
gives the same bytes on every machine with the pinned versions.
"""
import argparse
import io
import os
import sys
from typing import Any

import yaml
from grandalf.graphs import Edge, Graph, Vertex
from grandalf.layouts import SugiyamaLayout
from grandalf.routing import route_with_lines
from PIL import Image, ImageDraw, ImageFont

from devtools import logos
from devtools.paths import ROOT

BOX_W = 300
PAD = 10
MARGIN = 40
NAME_SIZE, KIND_SIZE, LABEL_SIZE, TITLE_SIZE = 16, 12, 13, 20
BACKGROUND = (250, 250, 250)
INK = (33, 33, 33)
LINK = (96, 96, 96)
STYLES = {  # task style: (fill, border, kind text colour)
    'start': ((232, 245, 233), (67, 160, 71), (46, 125, 50)),
    'title': ((236, 239, 241), (120, 144, 156), (69, 90, 100)),
    'condition': ((255, 248, 225), (255, 160, 0), (191, 110, 0)),
    'regular': ((255, 255, 255), (66, 66, 66), (97, 97, 97)),
    'command': ((227, 242, 253), (30, 136, 229), (21, 101, 192)),
    'playbook': ((237, 231, 246), (94, 53, 177), (69, 39, 160)),
}


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def wrap(text: str, size: int) -> list[str]:
    """Words greedily filled into lines that fit the box at this font size (a word is never split)."""
    lines: list[str] = []
    for word in text.split():
        if lines and font(size).getlength(lines[-1] + ' ' + word) <= BOX_W - 2 * PAD:
            lines[-1] += ' ' + word
        else:
            lines.append(word)
    return lines or ['']


def branch_label(label: str) -> str:
    return {'#none#': '', '#default#': 'else'}.get(label, label)


def task_kind(task: dict[str, Any]) -> tuple[str, str]:
    """(style key, the type line shown above the name)."""
    kind = task.get('type')
    inner = task.get('task') or {}
    command = (inner.get('script') or '').rpartition('|||')[2]
    if kind == 'start':
        return 'start', 'START'
    if kind == 'title':
        return 'title', 'SECTION'
    if kind == 'playbook':
        return 'playbook', 'SUB-PLAYBOOK'
    if kind == 'condition':
        what = command or inner.get('scriptName')
        return 'condition', 'CONDITION' + (' - ' + what if what else '')
    if command:
        return 'command', 'COMMAND - ' + command
    return 'regular', 'SCRIPT - ' + (inner.get('scriptName') or '')


def task_name(task: dict[str, Any]) -> str:
    inner = task.get('task') or {}
    if task.get('type') == 'start':
        return 'Playbook triggered'
    if task.get('type') == 'playbook':
        return inner.get('name') or inner.get('playbookName') or ''
    return inner.get('name') or ''


class Box:
    """One task: its text and its size, which grandalf reads as `view.w` / `view.h` and positions as `xy`."""

    def __init__(self, task_id: str, task: dict[str, Any]):
        self.task_id = task_id
        self.style, kind = task_kind(task)
        self.kind_lines = wrap(kind, KIND_SIZE)
        self.name_lines = wrap(task_name(task), NAME_SIZE)
        self.w = BOX_W
        self.h = PAD * 2 + len(self.kind_lines) * (KIND_SIZE + 4) + 4 + len(self.name_lines) * (NAME_SIZE + 5)
        self.xy = (0.0, 0.0)


class Route:
    def __init__(self, label: str):
        self.label = label
        self.points: list[tuple[float, float]] = []

    def setpath(self, points):
        self.points = [tuple(p) for p in points]


def layout(playbook: dict[str, Any]) -> tuple[list[Box], list[Route]]:
    tasks = playbook.get('tasks') or {}
    order = sorted(tasks, key=lambda t: (int(t) if str(t).isdigit() else 10 ** 9, str(t)))
    vertices = {}
    for task_id in order:
        vertex = Vertex(task_id)
        vertex.view = Box(str(task_id), tasks[task_id])
        vertices[str(task_id)] = vertex
    edges = []
    for task_id in order:
        labels_by_target: dict[str, list[str]] = {}  # several branches to one task: one arrow, all labels
        for label, targets in sorted((tasks[task_id].get('nexttasks') or {}).items(),
                                     key=lambda item: (item[0] == '#default#', item[0])):
            for target in targets or []:
                labels_by_target.setdefault(str(target), []).append(branch_label(label))
        for target, labels in labels_by_target.items():
            edge = Edge(vertices[str(task_id)], vertices[target])
            shown = [label for label in labels if label]
            edge.view = Route(' / '.join(shown) if tasks[task_id].get('type') == 'condition' else '')
            edges.append(edge)
    graph = Graph([vertices[str(t)] for t in order], edges)
    offset = 0.0
    for component in graph.C:
        sugiyama = SugiyamaLayout(component)
        sugiyama.xspace, sugiyama.yspace = 40, 70
        sugiyama.route_edge = route_with_lines
        roots = [v for v in component.sV if v.data == str(playbook.get('starttaskid', '0'))]
        sugiyama.init_all(roots=roots or None, optimize=False)  # its rank optimisation is not deterministic
        sugiyama.draw(5)
        for edge in component.sE:  # links back up (loops) are drawn from the task to the target too
            if not edge.view.points:
                edge.view.setpath([edge.v[0].view.xy, edge.v[1].view.xy])
        xs = [v.view.xy[0] - v.view.w / 2 for v in component.sV]
        shift = offset - min(xs)
        for vertex in component.sV:
            vertex.view.xy = (vertex.view.xy[0] + shift, vertex.view.xy[1])
        for edge in component.sE:
            edge.view.points = [(x + shift, y) for x, y in edge.view.points]
        offset = max(v.view.xy[0] + v.view.w / 2 for v in component.sV) + 60
    return [v.view for v in vertices.values()], [e.view for e in edges]


def clip(box: Box, towards: tuple[float, float], leaving: bool) -> tuple[float, float]:
    """The point where a link meets the box's bottom (leaving) or top (arriving) edge."""
    x, y = box.xy
    return (x, y + box.h / 2) if leaving else (x, y - box.h / 2)


def render(playbook: dict[str, Any]) -> Image.Image:
    boxes, routes = layout(playbook)
    by_xy = {b.xy: b for b in boxes}
    title = playbook.get('name') or ''
    left = min(b.xy[0] - b.w / 2 for b in boxes)
    top = min(b.xy[1] - b.h / 2 for b in boxes)
    right = max(b.xy[0] + b.w / 2 for b in boxes)
    bottom = max(b.xy[1] + b.h / 2 for b in boxes)
    head = TITLE_SIZE + 30
    dx, dy = MARGIN - left, MARGIN + head - top
    width = int(right - left + 2 * MARGIN)
    height = int(bottom - top + 2 * MARGIN + head)
    image = Image.new('RGB', (max(width, 420), height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.text((MARGIN, MARGIN), title, font=font(TITLE_SIZE), fill=INK)

    def at(point):
        return (round(point[0] + dx), round(point[1] + dy))

    labels = []
    for route in routes:
        points = list(route.points)
        source, target = by_xy.get(points[0]), by_xy.get(points[-1])
        if source is not None:
            points[0] = clip(source, points[1], leaving=True)
        if target is not None:
            points[-1] = clip(target, points[-2], leaving=False)
        pixels = [at(p) for p in points]
        draw.line(pixels, fill=LINK, width=2)
        x1, y1 = pixels[-1]
        draw.polygon([(x1, y1), (x1 - 6, y1 - 11), (x1 + 6, y1 - 11)], fill=LINK)
        if route.label:
            (sx, sy), (nx, ny) = pixels[0], pixels[1]
            t = min(1.0, 34.0 / max(1.0, abs(ny - sy)))
            labels.append((round(sx + (nx - sx) * t), round(sy + (ny - sy) * t), route.label))
    for box in boxes:
        fill, border, kind_colour = STYLES[box.style]
        x, y = at((box.xy[0] - box.w / 2, box.xy[1] - box.h / 2))
        shape = [x, y, x + box.w, y + box.h]
        if box.style in ('start', 'title'):
            draw.rounded_rectangle(shape, radius=box.h // 2, fill=fill, outline=border, width=2)
        else:
            draw.rounded_rectangle(shape, radius=8, fill=fill, outline=border, width=2)
        if box.style == 'condition':
            draw.polygon([(x + box.w - 22, y + 8), (x + box.w - 12, y + 16), (x + box.w - 22, y + 24),
                          (x + box.w - 32, y + 16)], fill=border)
        cursor = y + PAD
        for line in box.kind_lines:
            draw.text((x + PAD, cursor), line, font=font(KIND_SIZE), fill=kind_colour)
            cursor += KIND_SIZE + 4
        cursor += 4
        for line in box.name_lines:
            draw.text((x + PAD, cursor), line, font=font(NAME_SIZE), fill=INK)
            cursor += NAME_SIZE + 5
    for x, y, text in labels:
        w = draw.textlength(text, font=font(LABEL_SIZE))
        draw.rounded_rectangle([x - w / 2 - 5, y - 9, x + w / 2 + 5, y + 9], radius=6, fill=(255, 255, 255),
                               outline=(255, 160, 0), width=1)
        draw.text((x - w / 2, y - 8), text, font=font(LABEL_SIZE), fill=(191, 110, 0))
    return image


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format='PNG', optimize=True)
    return buffer.getvalue()


def playbook_images(root: str = ROOT) -> dict[str, bytes]:
    """doc_files/<name>.png (relative to root) -> PNG bytes, for every playbook in Playbooks/."""
    images = {}
    base = os.path.join(root, 'Playbooks')
    for name in sorted(os.listdir(base)):
        if name.startswith('playbook-') and name.endswith('.yml'):
            with open(os.path.join(base, name)) as f:
                playbook = yaml.safe_load(f)
            images[os.path.join('doc_files', name[len('playbook-'):-len('.yml')] + '.png')] = png_bytes(
                render(playbook))
    return images


def all_images(root: str = ROOT) -> dict[str, bytes]:
    images = playbook_images(root)
    images.update(logos.logo_images(root))
    return images


def stale(root: str = ROOT) -> list[str]:
    """Relative paths of the images that are missing or differ from what the YAML gives."""
    out = []
    for path, data in sorted(all_images(root).items()):
        full = os.path.join(root, path)
        if not os.path.exists(full) or open(full, 'rb').read() != data:
            out.append(path)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='bash devtools/dev.sh images')
    parser.add_argument('--check', action='store_true', help='exit 1 when an image is not current')
    options = parser.parse_args(argv)
    if options.check:
        old = stale()
        for path in old:
            print('not current:', path)
        return 1 if old else 0
    for path, data in sorted(all_images().items()):
        full = os.path.join(ROOT, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, 'wb') as f:
            f.write(data)
        print('wrote', path)
    return 0


if __name__ == '__main__':
    sys.exit(main())
