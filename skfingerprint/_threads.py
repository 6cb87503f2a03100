"""Threads: torch's thread count for a block, and image decoding in threads.

Pillow and NumPy release the GIL while they decode and copy pixels, so a few
threads decode files in parallel with each other and with torch's own
threads, without the start-up cost, memory and inter-process copies of
DataLoader worker processes.  The items come back in order: the results do
not depend on the number of threads.  (Measurements: docs/benchmarks.md,
speed.)

torch is imported when a function runs, not with this module, so that the
command line's start-up does not pay for it.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib

from ._validation import available_cpus


@contextlib.contextmanager
def torch_threads(n_threads, *, at_most=False):
    """Run the block with ``n_threads`` torch CPU threads, restored afterwards.

    Parameters
    ----------
    n_threads : int or None
        Threads for the block; None leaves the count unchanged.
    at_most : bool, default=False
        Only lower the count: a block asked to use more threads than torch
        has keeps the current count.
    """
    import torch

    before = torch.get_num_threads()
    if n_threads is None or (at_most and n_threads >= before):
        yield
        return
    torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def cpu_threads():
    """torch's thread count, at most the CPUs usable: the threads a step's
    CPU work (decoding, augmentation) may take while the network waits."""
    import torch

    return max(1, min(torch.get_num_threads(), available_cpus()))


def decode_threads(bags):
    """Threads that read the items of ``bags`` (1: read in the calling thread).

    Threads only pay for files (bags of paths).  Their number is torch's
    thread count, the CPU budget the user (or a parallel job such as a
    cross-validation fold process, which runs torch on one thread) gave,
    and at most the CPUs usable.
    """
    if bags.kind != "paths":
        return 1
    return cpu_threads()


def read_ahead(get, n_items, threads, ahead):
    """Yield ``get(0), ..., get(n_items - 1)`` in order, read by ``threads`` threads.

    At most ``ahead`` items are read before they are consumed (memory stays
    bounded).  An exception of ``get`` is raised where its item would have
    been yielded; items not yet started are then cancelled.
    """
    if threads <= 1 or n_items <= 1:
        for i in range(n_items):
            yield get(i)
        return
    pool = concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="skfp-read")
    try:
        queue = collections.deque()
        submitted = 0
        while submitted < min(ahead, n_items):
            queue.append(pool.submit(get, submitted))
            submitted += 1
        while queue:
            item = queue.popleft().result()
            if submitted < n_items:
                queue.append(pool.submit(get, submitted))
                submitted += 1
            yield item
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def one_ahead(iterator):
    """The items of ``iterator``, each next one computed in a thread while
    the caller works on the current one (an error is raised where its item
    is taken)."""
    end = object()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(next, iterator, end)
        while True:
            item = pending.result()
            if item is end:
                return
            pending = pool.submit(next, iterator, end)
            yield item


def map_in_threads(fn, items, threads):
    """``[fn(item) for item in items]``, computed by up to ``threads`` threads.

    Each thread takes a contiguous share of the items (one task per thread,
    not per item: many small items, such as bags of one image, would
    otherwise cost more in dispatch than in work).
    """
    items = list(items)
    parts = min(int(threads), len(items))
    if parts <= 1:
        return [fn(item) for item in items]
    bounds = [len(items) * p // parts for p in range(parts + 1)]

    def share(p):
        return [fn(items[i]) for i in range(bounds[p], bounds[p + 1])]

    out = []
    for part in read_ahead(share, parts, parts, ahead=parts):
        out.extend(part)
    return out
