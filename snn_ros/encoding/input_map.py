"""
Input maps: event addresses to input-neuron indices.

:class:`GridInputMap` crops a region of interest (x0, y0, w, h) and pools it into
nx x ny cells, as in DVS lane-keeping work (Bing, Meschede, Huang, Chen, Roehrbein,
Akl, Knoll, "End to end learning of spiking neural network based on R-STDP for a
lane keeping vehicle", ICRA 2018: a 128 x 128 DVS cropped and pooled to 8 x 4).
Pixel (x, y) in the region falls in cell cx = (x - x0) * nx // w,
cy = (y - y0) * ny // h, neuron cy * nx + cx. With separate polarity channels the
ON events (p = 1) go to a second plane: neuron + nx * ny. Events outside the
region are dropped and counted. An input neuron has an absolute refractory
period (``refractory_ns``, 0 by default): an event that comes sooner after its
neuron's last spike is merged into that spike and counted. It bounds the input
rate a network sees however fast the sensor is (a DVS can send 10 Mev/s).
"""

import numpy as np

from snn_ros.core.types import EVENT_DTYPE, SPIKE_DTYPE
from snn_ros.encoding import _code_kernels as _k

POLARITY_MODES = ('separate', 'merged')
NORMALISE_MODES = (None, 'pixels', 'max')
_NO_LIMIT = np.iinfo(np.int64).min


class GridInputMap:
    """
    Pool a region of interest into a grid of input neurons.

    Pixel (x, y) is in cell ``row[y] + column[x]`` (int32 tables, -1 outside the
    region); ``pixels_per_cell`` (n_cells,) counts the region pixels in each cell.
    """

    def __init__(self, width, height, grid=(8, 4), roi=None, polarity='separate',
                 normalise=None, refractory_ns=0):
        """Map a ``width`` x ``height`` sensor; ``grid`` is (nx, ny), ``roi`` (x0, y0, w, h)."""
        for name, value in (('width', width), ('height', height)):
            if not isinstance(value, (int, np.integer)) or not 1 <= value <= 65535:
                raise ValueError(f'GridInputMap: {name} must be an integer in [1, 65535], '
                                 f'got {value!r}')
        roi = (0, 0, width, height) if roi is None else tuple(int(v) for v in roi)
        x0, y0, w, h = roi
        if not (len(roi) == 4 and x0 >= 0 and y0 >= 0 and w >= 1 and h >= 1
                and x0 + w <= width and y0 + h <= height):
            raise ValueError(f'GridInputMap: roi (x0, y0, w, h) = {roi} must lie inside the '
                             f'{width} x {height} sensor')
        nx, ny = (int(v) for v in grid)
        if not (1 <= nx <= w and 1 <= ny <= h):
            raise ValueError(f'GridInputMap: grid {grid} must be (nx, ny) with 1 <= nx <= '
                             f'{w} and 1 <= ny <= {h} (the roi size)')
        if polarity not in POLARITY_MODES:
            raise ValueError(f'GridInputMap: polarity must be one of {POLARITY_MODES}, '
                             f'got {polarity!r}')
        if normalise not in NORMALISE_MODES:
            raise ValueError(f'GridInputMap: normalise must be one of {NORMALISE_MODES}, '
                             f'got {normalise!r}')
        if not isinstance(refractory_ns, (int, np.integer)) or refractory_ns < 0:
            raise ValueError(f'GridInputMap: refractory_ns must be an int >= 0, '
                             f'got {refractory_ns!r}')
        self.width, self.height = int(width), int(height)
        self.roi, self.grid = roi, (nx, ny)
        self.polarity, self.normalise = polarity, normalise
        self.n_cells = nx * ny
        self.n_neurons = self.n_cells * (2 if polarity == 'separate' else 1)
        self.column = np.full(self.width, -1, dtype=np.int32)
        self.column[x0:x0 + w] = np.arange(w) * nx // w
        self.row = np.full(self.height, -1, dtype=np.int32)
        self.row[y0:y0 + h] = np.arange(h) * ny // h * nx
        table = self.table
        self.pixels_per_cell = np.bincount(table[table >= 0], minlength=self.n_cells)
        self.refractory_ns = int(refractory_ns)
        self.last_t = np.full(self.n_neurons, np.iinfo(np.int64).min // 2, np.int64)
        self.dropped = 0  # events outside the region
        self.merged = 0   # events within an input neuron's refractory period
        self.late = 0     # events before ``t_min`` (see ``to_spikes``)

    @property
    def table(self):
        """Return each pixel's cell, int32 (height, width), -1 outside the region."""
        inside = (self.row[:, None] >= 0) & (self.column[None, :] >= 0)
        return np.where(inside, self.row[:, None] + self.column[None, :], -1).astype(np.int32)

    def _fields(self, events):
        if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE:
            raise ValueError('GridInputMap: events must be an EVENT_DTYPE array')
        return events['x'], events['y'], events['p']

    def to_spikes(self, events, t_min=None):
        """
        Return the spikes of the mapped events (SPIKE_DTYPE, event order kept).

        Events before ``t_min`` [ns] (a network's current time) are late: skipped
        before the region and the refractory periods see them, and counted in ``late``.
        """
        x, y, p = self._fields(events)
        out = np.empty(x.shape[0], dtype=SPIKE_DTYPE)
        n, outside, late = _k.grid_map(
            x, y, p, events['t'], self.column, self.row, self.n_cells,
            self.polarity == 'separate', self.refractory_ns, self.last_t,
            _NO_LIMIT if t_min is None else int(t_min), out['neuron'], out['t'])
        self.dropped += outside
        self.late += late
        self.merged += x.shape[0] - outside - late - n
        return out[:n]

    def counts(self, events):
        """
        Return each neuron's event count (float64, n_neurons), normalised if asked.

        'pixels' divides by the pixels in the cell (cells of unequal size compare
        fairly); 'max' divides by the largest count.
        """
        x, y, p = self._fields(events)
        counts = np.zeros(self.n_neurons, dtype=np.int64)
        _k.grid_counts(x, y, p, self.column, self.row, self.n_cells,
                       self.polarity == 'separate', counts)
        out = counts.astype(np.float64)
        if self.normalise == 'pixels':
            out /= np.tile(self.pixels_per_cell, self.n_neurons // self.n_cells)
        elif self.normalise == 'max' and out.max() > 0:
            out /= out.max()
        return out
