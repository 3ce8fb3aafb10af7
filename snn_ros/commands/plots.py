"""
Figures of the train and demo reports, drawn with OpenCV (no plotting library needed).

Every function returns a BGR ``uint8`` image; ``save(path, image)`` writes a PNG.
"""

import numpy as np

WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
GREY = (190, 190, 190)
COLOURS = ((200, 90, 20), (30, 30, 210), (40, 150, 40), (150, 40, 150))
FONT = 0  # cv2.FONT_HERSHEY_SIMPLEX


def save(path, image):
    """Write ``image`` as a PNG file at ``path``; return the path."""
    import cv2
    if not cv2.imwrite(str(path), image):
        raise OSError(f'{path}: could not write the image')
    return path


def _nice_ticks(lo, hi, n=5):
    if not np.isfinite(lo) or not np.isfinite(hi) or hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / n
    mag = 10 ** np.floor(np.log10(raw))
    step = mag * min((1, 2, 5, 10), key=lambda m: abs(m * mag - raw))
    return np.arange(np.ceil(lo / step) * step, hi + 0.5 * step, step)


def _label(value):
    return f'{value:.3g}' if abs(value) < 1e4 else f'{value:.0f}'


def panel(series, title, xlabel, ylabel, size=(640, 300), y_min=None, x_range=None):
    """
    Draw one x-y panel.

    ``series``: list of ``(x, y, label, style)`` with style 'line', 'points' or
    'bars'; axes span all series (``y_min`` fixes the lower y limit, ``x_range``
    the x limits).
    """
    import cv2
    width, height = size
    image = np.full((height, width, 3), 255, np.uint8)
    left, right, top, bottom = 64, 16, 28, 40
    xs = [np.asarray(s[0], float) for s in series if len(s[0])]
    ys = [np.asarray(s[1], float) for s in series if len(s[1])]
    cv2.putText(image, title, (left, 18), FONT, 0.5, BLACK, 1, cv2.LINE_AA)
    if not xs and x_range is None:
        cv2.putText(image, 'no data', (width // 2 - 30, height // 2), FONT, 0.5, BLACK, 1,
                    cv2.LINE_AA)
        return image
    x_lo, x_hi = x_range or (min(x.min() for x in xs), max(x.max() for x in xs))
    finite = np.concatenate([y[np.isfinite(y)] for y in ys] + [np.zeros(1)])
    y_lo = float(finite.min()) if y_min is None else y_min
    y_hi = float(finite.max())
    if x_hi <= x_lo:
        x_hi = x_lo + 1.0
    if y_hi <= y_lo:
        y_hi = y_lo + 1.0
    y_hi += 0.05 * (y_hi - y_lo)

    def px(x, y):
        u = left + (np.asarray(x, float) - x_lo) / (x_hi - x_lo) * (width - left - right)
        v = height - bottom - (np.asarray(y, float) - y_lo) / (y_hi - y_lo) * (
            height - top - bottom)
        return u, v

    for tick in _nice_ticks(y_lo, y_hi):
        if y_lo <= tick <= y_hi:
            _, v = px(x_lo, tick)
            cv2.line(image, (left, int(v)), (width - right, int(v)), GREY, 1)
            cv2.putText(image, _label(tick), (4, int(v) + 4), FONT, 0.35, BLACK, 1,
                        cv2.LINE_AA)
    for tick in _nice_ticks(x_lo, x_hi):
        if x_lo <= tick <= x_hi:
            u, _ = px(tick, y_lo)
            cv2.line(image, (int(u), height - bottom), (int(u), height - bottom + 4), BLACK, 1)
            cv2.putText(image, _label(tick), (int(u) - 12, height - bottom + 16), FONT, 0.35,
                        BLACK, 1, cv2.LINE_AA)
    cv2.rectangle(image, (left, top), (width - right, height - bottom), BLACK, 1)
    cv2.putText(image, xlabel, (width // 2 - 4 * len(xlabel), height - 6), FONT, 0.4, BLACK, 1,
                cv2.LINE_AA)
    cv2.putText(image, ylabel, (left + 4, top + 14), FONT, 0.4, BLACK, 1, cv2.LINE_AA)
    for i, (x, y, label, style) in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        u, v = px(x, y)
        ok = np.isfinite(u) & np.isfinite(v)
        pts = np.stack([u[ok], v[ok]], axis=1).round().astype(np.int32)
        if style == 'line' and pts.shape[0] > 1:
            cv2.polylines(image, [pts.reshape(-1, 1, 2)], False, colour, 2, cv2.LINE_AA)
        elif style == 'bars':
            _, v0 = px(x_lo, max(y_lo, 0.0))
            bar = max(1, int((width - left - right) / max(len(x), 1) * 0.8))
            for p in pts:
                cv2.rectangle(image, (int(p[0]) - bar // 2, int(v0)), (int(p[0]) + bar // 2,
                              int(p[1])), colour, -1)
        else:
            for p in pts:
                cv2.circle(image, (int(p[0]), int(p[1])), 3, colour, -1, cv2.LINE_AA)
        cv2.putText(image, label, (width - right - 200, top + 16 + 16 * i), FONT, 0.4, colour,
                    1, cv2.LINE_AA)
    return image


def learning_curve(result, window=500, title='learning curve'):
    """
    Draw mean |d| per lap and per ``window`` steps, and resets per ``window`` steps.

    ``result`` is a ``LoopResult`` (or anything with ``laps``, ``reset``, ``d_m`` and
    ``steps``). The per-window mean |d| shows learning before the first lap too.
    """
    lap_steps = np.array([lap.step + 1 for lap in result.laps], float)
    lap_d = np.array([lap.mean_abs_d_m for lap in result.laps], float)
    window = max(1, min(window, max(result.steps, 1)))
    n = result.steps // window
    d_window = np.abs(np.asarray(result.d_m, float)[:n * window]).reshape(n, window).mean(1)
    mid = (np.arange(n) + 0.5) * window
    top = panel([(mid, d_window, f'mean |d| per {window} steps [m]', 'line'),
                 (lap_steps, lap_d, 'mean |d| per lap [m]', 'points')],
                f'{title}: mean |d| ({len(result.laps)} laps)', 'step', '|d| [m]',
                y_min=0.0, x_range=(0, max(result.steps, 1)))
    resets = result.resets_per_window(window)
    bottom = panel([(mid, resets, f'resets per {window} steps', 'bars')],
                   f'resets ({int(np.sum(result.reset))} in {result.steps} steps)', 'step',
                   'resets', y_min=0.0, x_range=(0, max(result.steps, 1)))
    return np.vstack([top, bottom])


def trajectory(world, poses, resets=None, size=640):
    """
    Draw the track raster of ``world`` with the robot's path ``poses`` (N, 3) on it.

    ``resets[k]`` true: step ``k`` ended in a reset, so ``poses[k]`` is already the
    restart pose (as ``World.step`` reports it) and the path breaks before it.
    """
    import cv2
    raster = world.renderer.raster
    base = cv2.cvtColor(raster.image, cv2.COLOR_GRAY2BGR)
    scale = size / max(base.shape[:2])
    image = cv2.resize(base, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    image = np.ascontiguousarray(image[::-1])  # rows grow with y: flip so y points up
    poses = np.asarray(poses, float)
    if poses.shape[0] == 0:
        return image
    col = (poses[:, 0] - raster.x0_m) / raster.res_m * scale
    row = image.shape[0] - 1 - (poses[:, 1] - raster.y0_m) / raster.res_m * scale
    pts = np.stack([col, row], axis=1).round().astype(np.int32)
    n = pts.shape[0]
    breaks = np.flatnonzero(resets) if resets is not None else np.zeros(0, int)
    breaks = breaks[breaks > 0]
    for start, stop in zip(np.r_[0, breaks], np.r_[breaks, n]):
        for a in range(start, stop - 1):
            f = a / max(n - 1, 1)
            colour = (int(255 * (1 - f)), 60, int(255 * f))  # blue (early) to red (late)
            cv2.line(image, tuple(pts[a]), tuple(pts[a + 1]), colour, 2, cv2.LINE_AA)
    cv2.circle(image, tuple(pts[0]), 6, (0, 200, 0), -1)
    cv2.putText(image, 'path: blue = early, red = late', (8, 18), FONT, 0.5, (0, 0, 0), 1,
                cv2.LINE_AA)
    return image


def raster(image, title='spike raster', seconds=None, size=(640, 240)):
    """Draw a raster image (neurons x time bins, uint8) enlarged, with a title."""
    import cv2
    image = np.asarray(image, np.uint8)
    width, height = size
    out = np.full((height, width, 3), 255, np.uint8)
    cv2.putText(out, title, (8, 16), FONT, 0.5, BLACK, 1, cv2.LINE_AA)
    if image.size == 0:
        return out
    body = cv2.resize(255 - image, (width - 16, height - 44), interpolation=cv2.INTER_NEAREST)
    out[24:height - 20, 8:width - 8] = body[:, :, None]
    label = f'{image.shape[0]} neurons' + (f', {seconds:.2f} s' if seconds else '')
    cv2.putText(out, label, (8, height - 5), FONT, 0.4, BLACK, 1, cv2.LINE_AA)
    return out


def weight_grids(weights, grid, titles, cell_px=40):
    """
    Draw weight matrices side by side as grey maps (white = largest of all).

    ``weights``: list of 1-D arrays of ``grid[0] * grid[1] * k`` values (k planes
    stacked vertically); ``grid`` = (nx, ny).
    """
    import cv2
    nx, ny = grid
    hi = max(float(np.max(w)) for w in weights) if weights else 1.0
    hi = hi if hi > 0 else 1.0
    tiles = []
    for w, title in zip(weights, titles):
        w = np.asarray(w, float)
        planes = max(1, w.size // (nx * ny))
        block = w[:planes * nx * ny].reshape(planes * ny, nx)
        img = (255 * np.clip(block / hi, 0, 1)).astype(np.uint8)
        img = cv2.resize(img, (nx * cell_px, planes * ny * cell_px),
                         interpolation=cv2.INTER_NEAREST)
        tile = np.full((img.shape[0] + 30, img.shape[1] + 10, 3), 255, np.uint8)
        tile[25:25 + img.shape[0], 5:5 + img.shape[1]] = img[:, :, None]
        cv2.putText(tile, title, (5, 17), FONT, 0.45, BLACK, 1, cv2.LINE_AA)
        tiles.append(tile)
    height = max(t.shape[0] for t in tiles)
    tiles = [np.vstack([t, np.full((height - t.shape[0], t.shape[1], 3), 255, np.uint8)])
             for t in tiles]
    out = np.hstack(tiles)
    out = np.vstack([out, np.full((20, out.shape[1], 3), 255, np.uint8)])
    cv2.putText(out, f'white = {hi:.3g} mV', (5, out.shape[0] - 5), FONT, 0.4, BLACK, 1,
                cv2.LINE_AA)
    return out
