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
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from capacity.errors import InputError

LOCAL_SCHEDULERS = ("synchronous", "threads", "processes")

#: Target number of (area, draw) cells of one chunk: a chunk of Haizhu's 18 streets and
#: 2,000 draws projects in about a third of a second and its output (16 years x 4 stages)
#: takes 18 MiB, small enough to keep one per core in flight.
CHUNK_CELLS = 36_000


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
    def put(chunk: Chunk, value: Parts) -> None:
        for target, part in zip(out, value, strict=True):
            if callable(target):
                target(chunk, part)
            elif reduced:
                target[:, chunk.a0:chunk.a1] = part
            else:
                target[:, chunk.a0:chunk.a1, ..., chunk.d0:chunk.d1] = part
        if done is not None:
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


def _map_local(func: Callable[..., Parts], chunks: Sequence[Chunk], shared: Sequence[Any],
               put: Callable[[Chunk, Parts], None], scheduler: str) -> None:
    """Local Dask schedulers, in waves of one chunk per worker so memory stays bounded."""
    dask: Any = importlib.import_module("dask")  # untyped library

    workers = max(1, os.cpu_count() or 1)
    args = [dask.delayed(a) for a in shared] if scheduler == "processes" else list(shared)
    task = dask.delayed(func, pure=True)
    for first in range(0, len(chunks), workers):
        wave = chunks[first:first + workers]
        values = dask.compute(*[task(*args, c) for c in wave], scheduler=scheduler, num_workers=workers)
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
