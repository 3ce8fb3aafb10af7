"""
The ``main()`` of every node: init, build, spin, shut down cleanly.

A node whose construction fails on a bad parameter or configuration file logs the
reason and exits with status 2, so ``ros2 launch`` shows why it did not start.
"""

import faulthandler
import gc
import sys

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy

#: Seconds a node's teardown may take after its checkpoint is written.
TEARDOWN_GRACE_S = 10.0


def run(node_class, args=None):
    """Spin a node of ``node_class`` until shutdown; return the process exit status."""
    rclpy.init(args=args)
    node = None
    try:
        node = node_class()
        # The objects of start-up (modules, compiled kernels: some 130,000) live as long
        # as the node; a full collection scanning them took 30-70 ms, a latency spike at
        # any message. Frozen, later collections scan only what comes after.
        gc.freeze()
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except _rclpy.RCLError:
        # SIGINT or SIGTERM closes the context; a callback publishing at that moment
        # fails ("publisher's context is invalid"). That is a clean stop too.
        if rclpy.ok():
            raise
    except (ValueError, OSError) as error:
        print(f'[{node_class.__name__}] cannot start: {error}', file=sys.stderr, flush=True)
        return 2
    finally:
        if node is not None:
            node.close()
            # Teardown can hang for good inside Fast DDS (a busy wait on a participant
            # listener in destroy_node, seen after SIGTERM during start-up, at 100% CPU).
            # The checkpoint is written by now: a teardown stuck that long ends the
            # process (status 1, tracebacks on stderr) instead of spinning.
            faulthandler.dump_traceback_later(TEARDOWN_GRACE_S, exit=True)
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
        faulthandler.cancel_dump_traceback_later()
    return 0
