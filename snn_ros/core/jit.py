"""
The one place where numba flags are chosen.

Kernels are compiled with ``cache=True`` so that nodes start quickly after the
first run, and with ``nogil=True`` so that ROS executors can run them beside
other callbacks. ``fastmath`` stays off: spike times must be reproducible.
``njit_inline`` is for small helpers called per event: numba inlines them into
their callers, which removes the call and its reference counting.
"""

import numba

# Parallel kernels run on TBB or numba's own workqueue, never OpenMP: NEST, which
# benchmarks and tests run in the same process, ships its own OpenMP runtime, and two
# OpenMP runtimes in one process crash it. (workqueue is not for concurrent launches
# from several Python threads; the nodes spin single-threaded executors.)
numba.config.THREADING_LAYER_PRIORITY = ['tbb', 'workqueue', 'omp']

njit = numba.njit(cache=True, nogil=True)
njit_inline = numba.njit(cache=True, nogil=True, inline='always')
njit_parallel = numba.njit(cache=True, nogil=True, parallel=True)
prange = numba.prange
