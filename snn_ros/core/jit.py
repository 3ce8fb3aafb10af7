"""
The one place where numba flags are chosen.

Kernels are compiled with ``cache=True`` so that nodes start quickly after the
first run, and with ``nogil=True`` so that ROS executors can run them beside
other callbacks. ``fastmath`` stays off: spike times must be reproducible.
``njit_inline`` is for small helpers called per event: numba inlines them into
their callers, which removes the call. ``borrow`` removes the reference
counting that numba still does around the arrays such a helper takes;
``njit_norc`` compiles a kernel that allocates nothing without any reference
counting (numba's ``_nrt=False``: a kernel that needs it fails to compile).
``prefetch`` starts loading a cache line that a later iteration will read.
"""

from llvmlite import ir
import numba
from numba.core import cgutils, types

# Parallel kernels run on TBB or numba's own workqueue, never OpenMP: NEST, which
# benchmarks and tests run in the same process, ships its own OpenMP runtime, and two
# OpenMP runtimes in one process crash it. (workqueue is not for concurrent launches
# from several Python threads; the nodes spin single-threaded executors.)
numba.config.THREADING_LAYER_PRIORITY = ['tbb', 'workqueue', 'omp']

njit = numba.njit(cache=True, nogil=True)
njit_inline = numba.njit(cache=True, nogil=True, inline='always')
njit_norc = numba.njit(cache=True, nogil=True, _nrt=False)
njit_parallel = numba.njit(cache=True, nogil=True, parallel=True)
prange = numba.prange


def _borrowed_array(context, builder, typ, value):
    """Return the array ``value`` of type ``typ`` with no meminfo and no parent."""
    make = cgutils.create_struct_proxy(typ)
    src = make(context, builder, value=value)
    view = make(context, builder)
    for field in ('nitems', 'itemsize', 'data', 'shape', 'strides'):
        setattr(view, field, getattr(src, field))
    view.meminfo = cgutils.get_null_value(view.meminfo.type)
    view.parent = cgutils.get_null_value(view.parent.type)
    return view._getvalue()


@numba.extending.intrinsic
def borrow(typingctx, arrays):
    """
    Return an array, or each array of a tuple, without its reference count (None as is).

    Wherever an inlined helper takes an array, numba increments and later
    decrements the array's reference count: two atomic operations, about 7 ns
    together here. A plastic arrival passes some twenty arrays to the rule's
    helpers, so the counting cost three times the rule (measured 2026-11-28:
    4.1 -> 1.2 ms of engine time per 30 Hz camera frame of the lane-keeping
    controller). A borrowed array has no meminfo, and its counting is a test
    for NULL. It is a view that is valid only while the original lives: kernels
    borrow their own arguments, which their caller holds for the whole call,
    and never return or store a borrowed array.
    """
    if isinstance(arrays, types.NoneType):
        def codegen_none(context, builder, sig, args):
            return args[0]
        return arrays(arrays), codegen_none
    if isinstance(arrays, types.Array):
        def codegen(context, builder, sig, args):
            return _borrowed_array(context, builder, sig.args[0], args[0])
        return arrays(arrays), codegen
    if isinstance(arrays, types.BaseTuple) and all(isinstance(a, types.Array) for a in arrays):
        def codegen_tuple(context, builder, sig, args):
            items = [_borrowed_array(context, builder, typ, builder.extract_value(args[0], k))
                     for k, typ in enumerate(sig.args[0])]
            return context.make_tuple(builder, sig.return_type, items)
        return arrays(arrays), codegen_tuple
    return None


@numba.extending.intrinsic
def prefetch(typingctx, array, i, j):
    """
    Ask the CPU to start loading ``array[i, j]`` into its caches; no effect on results.

    For kernels whose next iterations read memory at places known in advance
    but spread too far for the hardware prefetcher (a synapse's postsynaptic
    history row). The address is not checked: a prefetch never faults.
    """
    def codegen(context, builder, sig, args):
        aryty = sig.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        idx = [context.cast(builder, v, t, types.intp) for v, t in zip(args[1:], sig.args[1:])]
        ptr = cgutils.get_item_pointer2(context, builder, ary.data,
                                        cgutils.unpack_tuple(builder, ary.shape),
                                        cgutils.unpack_tuple(builder, ary.strides), aryty.layout,
                                        idx, wraparound=False, boundscheck=False)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
            'llvm.prefetch.p0')
        # read, high locality, data cache
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()
    if isinstance(array, types.Array) and array.ndim == 2:
        return types.void(array, i, j), codegen
    return None
