"""Host-side degradation in K worker processes, a few batches ahead of the training step (trainer --data-workers).

Why: `--degrade real` (degrade_real.py, ~58 samples/s on one core) and the face-blind task (degrade_face.py) degrade
per sample on the host; serially that caps a GPU run at a few hundred samples/s. Here the main process draws every
random number it draws in the serial path, in the same order from the same generators (patch positions, per-sample
seeds or parameters and noise fields, then gamma and the diffusion noise), and ships only deterministic work to the
workers. So a batch does not depend on K, and equals the serial path's (K = 0) bit for bit (unit test:
tests/test_workers.py).

  DegradePool(K)        K processes (forkserver), one task queue, results matched by id; a worker's exception comes back
                        as a RuntimeError with its traceback; a dead worker is an error, not a hang; close() stops
                        them (drains, joins, terminates stragglers) and is called at the end and on any exception.
  Feeder(pool, produce, depth)
                        produce() -> Pending (runs in the main process, in order); `depth` batches in flight, each
                        split into chunks over the workers; next() returns the oldest batch finished.
  natural_real_pending / face_blind_pending
                        the trainer's two host-degraded paths split into draw (main) and apply (worker).
"""
from __future__ import annotations

import collections
import multiprocessing as mp
import os
import queue
import time
import traceback

import numpy as np
import torch


# ---------------------------------------------------------------- worker side

def _task_real(payload):
    """--degrade real on a chunk: uint8 HR [n,3,P,P] + per-sample seeds -> (target u8, lr u8, degraded mask)."""
    from .degrade_real import real_batch

    x, seeds, scale, p_real = payload
    target, lrs = real_batch(torch.from_numpy(x), scale, seeds, p_real=p_real)
    P = x.shape[-1]
    lr = np.zeros((x.shape[0], 3, P // scale, P // scale), dtype=np.uint8)
    mask = []
    for i, l in enumerate(lrs):
        mask.append(l is not None)
        if l is not None:
            lr[i] = l.numpy()
    return target.numpy(), lr, mask


def _task_face(payload):
    """face-blind on a chunk: uint8 faces [n,3,S,S] + drawn (params, extras) -> LQ as uint8 (it is on 8-bit levels)."""
    from .degrade_face import FaceDegradeConfig, apply_one

    x, drawn, blur_impl = payload
    cfg = FaceDegradeConfig(blur_impl=blur_impl)
    hr01 = torch.from_numpy(x).float() / 255.0
    out = np.empty(x.shape, dtype=np.uint8)
    for i, (p, ex) in enumerate(drawn):
        ex = {k: (None if v is None else torch.from_numpy(v)) for k, v in ex.items()}
        _, lq = apply_one(hr01[i:i + 1], p, ex, cfg)
        out[i] = torch.round(lq[0] * 255.0).to(torch.uint8).numpy()
    return out


def _task_test(payload):
    """For tests: ('sleep', s) / ('fail', msg) / ('echo', obj)."""
    kind, arg = payload
    if kind == "sleep":
        time.sleep(arg)
        return arg
    if kind == "fail":
        raise ValueError(arg)
    return arg


TASKS = {"real": _task_real, "face": _task_face, "test": _task_test}


def _worker(tasks, results, stop, parent):
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    while not stop.is_set():
        try:
            item = tasks.get(timeout=2.0)
        except queue.Empty:
            try:  # the trainer died without closing us? (our OS parent is the forkserver, so ask for the trainer)
                os.kill(parent, 0)
            except ProcessLookupError:
                return
            except PermissionError:
                pass
            continue
        if item is None or stop.is_set():
            return
        tid, name, payload = item
        try:
            results.put((tid, True, TASKS[name](payload)))
        except Exception:  # noqa: BLE001 - sent back and raised in the main process
            results.put((tid, False, f"data worker {os.getpid()} ({name}): {traceback.format_exc()}"))


# ---------------------------------------------------------------- main side

class DegradePool:
    def __init__(self, n: int, start_method: str = "forkserver"):
        """forkserver: a fresh server process (never the CUDA-initialised trainer) imports torch once, each worker is
        forked from it; spawn works too (each worker imports torch itself, seconds each)."""
        if n < 1:
            raise ValueError(f"DegradePool: need >= 1 worker, got {n}")
        if start_method not in mp.get_all_start_methods():
            start_method = "spawn"
        ctx = mp.get_context(start_method)
        if start_method == "forkserver":
            # what every worker needs, imported once in the server (scipy alone took seconds per worker, lazily)
            ctx.set_forkserver_preload(["torch", "numpy", "scipy.special", "PIL.Image", "PIL.JpegImagePlugin", __name__,
                                        f"{__package__}.degrade_real", f"{__package__}.degrade_face"])
        self.tasks, self.results, self.stop = ctx.Queue(), ctx.Queue(), ctx.Event()
        # inherited by the forkserver (started by the first start() below) and the workers only. PYTHONPATH: Python
        # 3.11's forkserver ignores the parent's sys.path, so without it the preload below fails silently and every
        # worker imports torch itself (measured: 9-18 s per worker on a busy 2-core machine, 0.3 s preloaded)
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        old = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "PYTHONPATH")}
        os.environ.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                          PYTHONPATH=os.pathsep.join([here] + ([old["PYTHONPATH"]] if old["PYTHONPATH"] else [])))
        try:
            self.procs = [ctx.Process(target=_worker, args=(self.tasks, self.results, self.stop, os.getpid()),
                                      daemon=True, name=f"degrade-{i}") for i in range(n)]
            for p in self.procs:
                p.start()
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        self.n = n
        self._next = 0
        self._done = {}
        self.closed = False

    def submit(self, name: str, payload) -> int:
        if self.closed:
            raise RuntimeError("DegradePool: closed")
        tid = self._next
        self._next += 1
        self.tasks.put((tid, name, payload))
        return tid

    def result(self, tid: int):
        while tid not in self._done:
            try:
                rid, ok, val = self.results.get(timeout=1.0)
                self._done[rid] = (ok, val)
            except queue.Empty:
                dead = [p for p in self.procs if not p.is_alive()]
                if dead:
                    raise RuntimeError("data worker(s) died: " + ", ".join(f"pid {p.pid} exit {p.exitcode}" for p in dead))
        ok, val = self._done.pop(tid)
        if not ok:
            raise RuntimeError(val)
        return val

    def close(self, timeout: float = 10.0):
        """Stop the workers: they finish the task in hand and exit; stragglers are terminated after `timeout`."""
        if self.closed:
            return
        self.closed = True
        self.stop.set()
        for _ in self.procs:
            try:
                self.tasks.put_nowait(None)
            except Exception:  # noqa: BLE001
                pass
        deadline = time.time() + timeout
        while any(p.is_alive() for p in self.procs) and time.time() < deadline:
            try:  # drain, so that no worker blocks on a full result pipe at exit
                self.results.get(timeout=0.05)
            except queue.Empty:
                pass
        for p in self.procs:
            if p.is_alive():
                p.terminate()
            p.join(timeout=5)
        for q in (self.tasks, self.results):
            q.cancel_join_thread()
            q.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Pending:
    """One batch: its worker tasks [(name, payload)] and finish(results) -> the trainer's tuple."""

    def __init__(self, tasks, finish):
        self.tasks, self.finish, self.ids = tasks, finish, []


class Feeder:
    def __init__(self, pool: DegradePool, produce, depth: int = 3):
        self.pool, self.produce, self.depth = pool, produce, max(1, depth)
        self.q = collections.deque()
        self.wait_s = 0.0  # time next() spent waiting for workers (the host-degradation stall)

    def _fill(self):
        while len(self.q) < self.depth:
            pend = self.produce()
            pend.ids = [self.pool.submit(n, p) for n, p in pend.tasks]
            self.q.append(pend)

    def next(self):
        self._fill()
        pend = self.q.popleft()
        t0 = time.time()
        res = [self.pool.result(i) for i in pend.ids]
        self.wait_s += time.time() - t0
        self._fill()  # keep `depth` in flight while the caller trains on this one
        return pend.finish(res)

    def close(self):
        self.q.clear()
        self.pool.close()


def chunks(n: int, k: int):
    """Split range(n) into at most k contiguous, nearly equal slices."""
    k = max(1, min(k, n))
    b = [round(i * n / k) for i in range(k + 1)]
    return [slice(b[i], b[i + 1]) for i in range(k)]


def natural_real_pending(x_u8: torch.Tensor, seeds, scale: int, p_real: float, n_chunks: int, device, extra=(),
                         damage=None):
    """--degrade real: x_u8 [B,3,P,P] (any device) and seeds drawn as degrade.real_lr draws them. finish() returns
    (hr [-1,1], cond [-1,1], *extra) on `device`, equal to degrade_batch(kind='real'); with `damage` (--mask-p:
    damage.damage_lr on its own generator, called here in batch order as the serial path calls it)
    (hr, cond, mask, *extra)."""
    from .degrade import cond_and_mask, lr_from_hr, to_unit

    x = x_u8.cpu().numpy()
    sl = chunks(x.shape[0], n_chunks)
    tasks = [("real", (np.ascontiguousarray(x[s]), seeds[s], scale, p_real)) for s in sl]

    def finish(res):
        target = torch.from_numpy(np.concatenate([r[0] for r in res])).to(device)
        lr_d = torch.from_numpy(np.concatenate([r[1] for r in res])).to(device)
        mask = [m for r in res for m in r[2]]
        hr01 = to_unit(target)
        lr = lr_from_hr(hr01, scale)
        for i, m in enumerate(mask):
            if m:
                lr[i] = lr_d[i].float()
        return (hr01 * 2.0 - 1.0,) + cond_and_mask(lr, hr01.shape[-2:], damage) + tuple(extra)

    return Pending(tasks, finish)


def face_blind_pending(x_u8: torch.Tensor, drawn, n_chunks: int, device, extra=(), cfg=None):
    """face-blind: x_u8 [B,3,S,S] and drawn = degrade_face.draw_face_batch(...). finish() returns (hr, cond, *extra)
    on `device`, equal to degrade_face_batch's (hr, cond) moved there."""
    from .degrade_face import luminance

    xc = x_u8.cpu()
    x = xc.numpy()
    sl = chunks(x.shape[0], n_chunks)
    np_drawn = [(p, {k: (None if v is None else v.numpy()) for k, v in ex.items()}) for p, ex in drawn]
    blur_impl = cfg.blur_impl if cfg is not None else "conv"
    tasks = [("face", (np.ascontiguousarray(x[s]), np_drawn[s], blur_impl)) for s in sl]

    def finish(res):
        hr01 = xc.float() / 255.0
        hrs = [luminance(hr01[i:i + 1]) if p["grey"] else hr01[i:i + 1] for i, (p, _) in enumerate(drawn)]
        hr = torch.cat(hrs) * 2 - 1
        lq = torch.from_numpy(np.concatenate(res)).float() / 255.0
        cond = lq * 2 - 1
        return (hr.to(device), cond.to(device)) + tuple(extra)

    return Pending(tasks, finish)
