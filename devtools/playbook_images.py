"""Draw each playbook's task graph as doc_files/<playbook>.png (boxes at the task positions, links between them).

    python -m devtools.playbook_images

Pure Python (zlib + struct): start tasks green, conditions yellow, sub-playbooks blue, titles grey, the rest
white with a dark border.
"""
import json
import os
import struct
import zlib

import yaml

from devtools.paths import ROOT

COLOURS = {'start': (76, 175, 80), 'condition': (255, 193, 7), 'playbook': (66, 133, 244), 'title': (158, 158, 158),
           'regular': (255, 255, 255)}
BORDER = (50, 50, 50)
LINE = (120, 120, 120)
BOX_W, BOX_H, SCALE = 220, 60, 0.5


def write_png(path, width, height, pixels):
    raw = b''.join(b'\x00' + bytes(pixels[y * width * 3:(y + 1) * width * 3]) for y in range(height))

    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff)
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0))
                + chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b''))


def draw(playbook):
    positions = {}
    for task_id, task in playbook['tasks'].items():
        position = json.loads(task.get('view') or '{}').get('position', {'x': 0, 'y': 0})
        positions[task_id] = (int(position['x'] * SCALE), int(position['y'] * SCALE))
    width = max(x for x, _ in positions.values()) + int(BOX_W * SCALE) + 40
    height = max(y for _, y in positions.values()) + int(BOX_H * SCALE) + 40
    pixels = bytearray([255]) * (width * height * 3)

    def put(x, y, colour):
        if 0 <= x < width and 0 <= y < height:
            pixels[(y * width + x) * 3:(y * width + x) * 3 + 3] = bytes(colour)

    def line(x0, y0, x1, y1):
        steps = max(abs(x1 - x0), abs(y1 - y0), 1)
        for i in range(steps + 1):
            put(x0 + (x1 - x0) * i // steps, y0 + (y1 - y0) * i // steps, LINE)

    w, h = int(BOX_W * SCALE), int(BOX_H * SCALE)
    for task_id, task in playbook['tasks'].items():
        x, y = positions[task_id]
        for targets in (task.get('nexttasks') or {}).values():
            for target in targets or []:
                tx, ty = positions[str(target)]
                line(x + 20 + w // 2, y + 20 + h, tx + 20 + w // 2, ty + 20)
    for task_id, task in playbook['tasks'].items():
        x, y = positions[task_id]
        fill = COLOURS.get(task.get('type'), COLOURS['regular'])
        for dy in range(h):
            for dx in range(w):
                edge = dx < 2 or dy < 2 or dx >= w - 2 or dy >= h - 2
                put(x + 20 + dx, y + 20 + dy, BORDER if edge else fill)
    return width, height, pixels


def main():
    out_dir = os.path.join(ROOT, 'doc_files')
    os.makedirs(out_dir, exist_ok=True)
    base = os.path.join(ROOT, 'Playbooks')
    for name in sorted(os.listdir(base)):
        if name.startswith('playbook-') and name.endswith('.yml'):
            with open(os.path.join(base, name)) as f:
                playbook = yaml.safe_load(f)
            target = os.path.join(out_dir, name[len('playbook-'):-len('.yml')] + '.png')
            write_png(target, *draw(playbook))
            print('wrote', os.path.relpath(target, ROOT))


if __name__ == '__main__':
    main()
