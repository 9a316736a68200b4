"""Execution on Dask: the projection split into chunks of areas x draws.

The cohort projection of an area does not depend on any other area, and a draw's random
inputs depend only on ``(seed, component, draw)`` (:mod:`capacity.ensemble`), so the
children of every (area, draw) cell can be computed by whoever holds its chunk. This
module cuts the ``area x draw`` plane into rectangles (:func:`plan_chunks`), hands one
task per rectangle to a Dask scheduler and writes each finished rectangle into its place
in the output as it arrives (:func:`map_chunks`), so only the chunks in flight are held
twice. Every cell goes through the same elementwise operations whatever the chunking,
the scheduler and the number of workers, so the output is byte-identical in all cases.

Schedulers (``capacity run --scheduler``):

``synchronous``
    In the calling thread, one chunk after the other (for debugging and as the reference).
``threads`` (default)
    A pool of one thread per core in this process (numpy releases the GIL in its loops).
``processes``
    A pool of local processes (each receives the shared inputs once; a chunk's output is
    pickled back).
``ADDRESS``
    A running ``dask.distributed`` scheduler, e.g. ``tcp://10.0.0.5:8786``; its workers
    need this package installed. A task whose worker dies is run again elsewhere by the
    distributed scheduler (up to its ``allowed-failures``), with the same result.
"""

from __future__ import annotations

import importlib
import os
import pickle
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from capacity.errors import InputError

LOCAL_SCHEDULERS = ("synchronous", "threads", "processes")

#: Target number of (area, draw) cells of one chunk: a chunk of 9 areas and 1,000 draws
#: projects in about 50 ms; its outputs and working arrays take about 45 MiB (5 KiB per
#: cell: the stage bands by sex of every year, demand and places by sector), small
#: enough to keep one per core in flight, and larger chunks were not faster.
CHUNK_CELLS = 9_000

#: Draws a chunk spans at least, when the run has them: the engine's every operation runs
#: along the draws of a chunk (:mod:`capacity.core._blocks`), a chunk of 200 areas x 45
#: draws costs about twice as much per cell as one of 9 areas x 1,000 draws, and a
#: chunk's own costs (drawing its random inputs, cutting its rates) are small, so
#: chunks take more draws and fewer areas.
CHUNK_DRAWS = 1_000


def even_size(n: int, most: int) -> int:
    """Size of the parts when ``n`` items are cut into as few parts of at most ``most``
    as possible, of nearly equal size (the last one at most one part's size smaller: no
    chunk of one draw after chunks of many)."""
    parts = -(-n // max(1, min(most, n)))
    return -(-n // parts)


@dataclass(frozen=True)
class Chunk:
    """One rectangle of the ``area x draw`` plane: areas ``a0:a1``, draws ``d0:d1``."""

    a0: int
    a1: int
    d0: int
    d1: int

    @property
    def cells(self) -> int:
        return (self.a1 - self.a0) * (self.d1 - self.d0)


def plan_chunks(areas: int, draws: int, *, area_chunk: int | None = None, draw_chunk: int | None = None) -> list[Chunk]:
    """Rectangles covering ``areas x draws`` (row-major: areas outer, draws inner).

    By default a chunk takes all draws up to :data:`CHUNK_DRAWS`, or more when every area
    fits in :data:`CHUNK_CELLS` cells with them, and as many areas as fit in
    :data:`CHUNK_CELLS`; the areas and the draws are cut into parts of nearly equal size
    (:func:`even_size`). Given one of ``area_chunk`` and ``draw_chunk``, the other is
    chosen to fit :data:`CHUNK_CELLS`; given both, they are used as they are.
    """
    if draw_chunk is None:
        if area_chunk is None:
            most = max(CHUNK_CELLS // areas, CHUNK_DRAWS)
        else:
            most = CHUNK_CELLS // max(1, min(area_chunk, areas))
        draw_chunk = even_size(draws, max(1, most))
    draw_chunk = max(1, min(draw_chunk, draws))
    if area_chunk is None:
        area_chunk = even_size(areas, max(1, CHUNK_CELLS // draw_chunk))
    area_chunk = max(1, min(area_chunk, areas))
    return [Chunk(a, min(a + area_chunk, areas), d, min(d + draw_chunk, draws))
            for a in range(0, areas, area_chunk) for d in range(0, draws, draw_chunk)]


def check_scheduler(scheduler: str) -> str:
    """The scheduler name or a scheduler address; else a one-line :class:`InputError`."""
    if scheduler in LOCAL_SCHEDULERS or "://" in scheduler or ":" in scheduler:
        return scheduler
    raise InputError.one("--scheduler", "", "",
                         f"expected synchronous, threads, processes or a scheduler address such as "
                         f"tcp://host:8786, found '{scheduler}'")


Parts = tuple[NDArray[np.float64], ...]
Target = NDArray[np.float64] | Callable[[Chunk, NDArray[np.float64]], None]


def map_chunks(func: Callable[..., Parts], chunks: Sequence[Chunk], shared: Sequence[Any],
               out: Sequence[Target], *, scheduler: str = "threads",
               done: Callable[[Chunk], None] | None = None, reduced: bool = False) -> Sequence[Target]:
    """Compute ``func(*shared, chunk)`` for every chunk and write it into ``out``.

    Parameters
    ----------
    func : callable
        Module-level (picklable) function returning a tuple of arrays
        ``(year, a1 - a0, ..., d1 - d0)``: second axis the areas and last axis the draws of
        the chunk.
    chunks : sequence of Chunk
    shared : sequence
        Arguments common to every chunk (sent once to the scheduler).
    out : sequence of ndarray (year, area, ..., draw) or of callables
        Arrays are filled in place: ``out[i][:, a0:a1, ..., d0:d1] = func(*shared, chunk)[i]``;
        a callable is called with the chunk and its part instead (e.g. to add it up).
    scheduler : str
        ``synchronous``, ``threads``, ``processes`` or a distributed scheduler address.
    done : callable, optional
        Called with each chunk when its result has been written.
    reduced : bool
        The chunks' results are already reduced over their draws (each chunk must then
        hold all draws): ``out[i][:, a0:a1] = func(*shared, chunk)[i]``.

    Returns
    -------
    sequence
        ``out``.
    """
    lock = threading.Lock()  # callables are called one at a time (arrays are written in disjoint pieces)

    def put(chunk: Chunk, value: Parts) -> None:
        for target, part in zip(out, value, strict=True):
            if callable(target):
                with lock:
                    target(chunk, part)
            elif reduced:
                target[:, chunk.a0:chunk.a1] = part
            else:
                target[:, chunk.a0:chunk.a1, ..., chunk.d0:chunk.d1] = part
        if done is not None:
            with lock:
                done(chunk)

    scheduler = check_scheduler(scheduler)
    if scheduler == "synchronous" or len(chunks) == 1 and scheduler in LOCAL_SCHEDULERS:
        for chunk in chunks:
            put(chunk, func(*shared, chunk))
        return out
    if scheduler in LOCAL_SCHEDULERS:
        _map_local(func, chunks, shared, put, scheduler)
        return out
    _map_distributed(func, chunks, shared, put, scheduler)
    return out


def _computed_and_put(func: Callable[..., Parts], put: Callable[[Chunk, Parts], None], *args: Any) -> None:
    """``put(chunk, func(*args))`` with ``chunk = args[-1]``: a task that writes its own result."""
    put(args[-1], func(*args))


#: The shared arguments of the chunks, in the worker processes of the ``processes``
#: scheduler (by run token): sent once per process when it starts, not with every chunk.
_SHARED: dict[str, tuple[Any, ...]] = {}


def _keep_shared(token: str, payload: bytes) -> None:
    """Initialiser of a ``processes`` worker: Dask's own, then the run's shared arguments."""
    importlib.import_module("dask.multiprocessing").initialize_worker_process()
    _SHARED[token] = pickle.loads(payload)


def _with_shared(func: Callable[..., Parts], token: str, chunk: Chunk) -> Parts:
    """``func(*shared, chunk)`` in a ``processes`` worker, the shared arguments kept by :func:`_keep_shared`."""
    return func(*_SHARED[token], chunk)


def _map_local(func: Callable[..., Parts], chunks: Sequence[Chunk], shared: Sequence[Any],
               put: Callable[[Chunk, Parts], None], scheduler: str) -> None:
    """Local Dask schedulers, at most one chunk per worker in flight so memory stays bounded.

    ``threads``: each task writes its chunk's result into place itself (the outputs are this
    process's memory), so the workers never wait for the calling thread to copy results
    and a chunk's result is dropped as soon as it is written. ``processes``: in waves of
    one chunk per worker, the results written by the calling thread; one pool of worker
    processes for all the waves, each process receiving the shared arguments (the
    district, the scenario, ...) once when it starts, so a chunk's task carries only its
    rectangle.
    """
    dask: Any = importlib.import_module("dask")  # untyped library
    # the scheduler's own function: named, dask.compute would first import dask.distributed (half a second) to look
    # for a client
    multiprocessing: Any = importlib.import_module("dask.threaded" if scheduler == "threads" else "dask.multiprocessing")
    get = multiprocessing.get

    workers = max(1, os.cpu_count() or 1)
    token = uuid.uuid4().hex
    if scheduler == "threads":
        # the shared arguments enter the graph once, by name: not hashed nor walked through for every chunk
        args = [dask.delayed(a, name=f"capacity-shared-{token}-{i}", traverse=False) for i, a in enumerate(shared)]
        writes = dask.delayed(_computed_and_put, pure=False)
        dask.compute(*[writes(func, put, *args, c) for c in chunks], scheduler=get, num_workers=workers)
        return
    from concurrent.futures import ProcessPoolExecutor

    payload = pickle.dumps(tuple(shared), protocol=pickle.HIGHEST_PROTOCOL)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(), initializer=_keep_shared,
                             initargs=(token, payload)) as pool:
        task = dask.delayed(_with_shared, pure=True)
        for first in range(0, len(chunks), workers):
            wave = chunks[first:first + workers]
            values = dask.compute(*[task(func, token, c) for c in wave], scheduler=get, num_workers=workers,
                                  pool=pool)
            for chunk, value in zip(wave, values):
                put(chunk, value)


def _map_distributed(func: Callable[..., Parts], chunks: Sequence[Chunk], shared: Sequence[Any],
                     put: Callable[[Chunk, Parts], None], address: str) -> None:
    """A ``dask.distributed`` scheduler: results written as they complete, in any order."""
    distributed: Any = importlib.import_module("distributed")  # untyped library
    Client, as_completed = distributed.Client, distributed.as_completed

    with Client(address, set_as_default=False) as client:
        scattered = [client.scatter(a, broadcast=True) for a in shared]
        token = uuid.uuid4().hex
        futures = {client.submit(func, *scattered, c, key=f"capacity-chunk-{token}-{i}"): c
                   for i, c in enumerate(chunks)}
        for future in as_completed(list(futures), loop=client.loop):
            put(futures[future], future.result())
            future.release()


__all__ = ["CHUNK_CELLS", "CHUNK_DRAWS", "Chunk", "LOCAL_SCHEDULERS", "check_scheduler", "even_size", "map_chunks", "plan_chunks"]
