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
    A pool of local processes (each chunk's inputs and output are pickled).
``ADDRESS``
    A running ``dask.distributed`` scheduler, e.g. ``tcp://10.0.0.5:8786``; its workers
    need this package installed. A task whose worker dies is run again elsewhere by the
    distributed scheduler (up to its ``allowed-failures``), with the same result.
"""

from __future__ import annotations

import importlib
import os
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from capacity.errors import InputError

LOCAL_SCHEDULERS = ("synchronous", "threads", "processes")

#: Target number of (area, draw) cells of one chunk: a chunk of Haizhu's 18 streets and
#: 500 draws projects in about a tenth of a second; the engine's working arrays for it take
#: about 45 MiB (5 KiB per cell: every age of the base population per draw, the stage bands
#: by sex of every year), small enough to keep one per core in flight, and larger chunks
#: were not faster.
CHUNK_CELLS = 9_000


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

    By default a chunk takes all areas up to :data:`CHUNK_CELLS` cells (more areas are
    cut into groups of up to 200) and as many draws as fit in :data:`CHUNK_CELLS`.
    """
    if area_chunk is None:
        area_chunk = areas if areas <= 200 else 200
    area_chunk = max(1, min(area_chunk, areas))
    if draw_chunk is None:
        draw_chunk = max(1, CHUNK_CELLS // area_chunk)
    draw_chunk = max(1, min(draw_chunk, draws))
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


def _map_local(func: Callable[..., Parts], chunks: Sequence[Chunk], shared: Sequence[Any],
               put: Callable[[Chunk, Parts], None], scheduler: str) -> None:
    """Local Dask schedulers, at most one chunk per worker in flight so memory stays bounded.

    ``threads``: each task writes its chunk's result into place itself (the outputs are this
    process's memory), so the workers never wait for the calling thread to copy results
    and a chunk's result is dropped as soon as it is written. ``processes``: in waves of
    one chunk per worker, the results written by the calling thread.
    """
    dask: Any = importlib.import_module("dask")  # untyped library
    # the scheduler's own function: named, dask.compute would first import dask.distributed (half a second) to look
    # for a client
    get = importlib.import_module("dask.threaded" if scheduler == "threads" else "dask.multiprocessing").get

    workers = max(1, os.cpu_count() or 1)
    # the shared arguments enter the graph once, by name: not hashed nor walked through for every chunk
    token = uuid.uuid4().hex
    args = [dask.delayed(a, name=f"capacity-shared-{token}-{i}", traverse=False) for i, a in enumerate(shared)]
    if scheduler == "threads":
        writes = dask.delayed(_computed_and_put, pure=False)
        dask.compute(*[writes(func, put, *args, c) for c in chunks], scheduler=get, num_workers=workers)
        return
    task = dask.delayed(func, pure=True)
    for first in range(0, len(chunks), workers):
        wave = chunks[first:first + workers]
        values = dask.compute(*[task(*args, c) for c in wave], scheduler=get, num_workers=workers)
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


__all__ = ["CHUNK_CELLS", "Chunk", "LOCAL_SCHEDULERS", "check_scheduler", "map_chunks", "plan_chunks"]
