"""The training loop (CPU on torch 1.13, GPU on torch 2.x).

GPU speed-ups (see bench_throughput.py): data held on the device as uint8, degradation on the device, bf16 autocast,
fused/foreach Adam, fused EMA (torch._foreach_*), loss accumulated on the device and read back only every
--log-every steps (no per-step host sync), optional torch.compile, large batches.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from . import checkpoint as ckpt
from .damage import DEFAULT as DAMAGE_DEFAULT, damage_lr
from .data import FaceBlindData, FaceData, PatchData
from .degrade import degrade_batch
from .degrade_face import FaceDegradeConfig, degrade_face_batch, draw_face_batch
from .ema import EMA
from .model import PRESETS, Denoiser, UNetConfig, n_params, state_dict_with_mask
from .schedule import alpha_bars
from .workers import DegradePool, Feeder, face_blind_pending, natural_real_pending


def gamma_tables(kind: str, T: int, device):
    """(g_hi, g_lo): for level k (0-based), gamma is drawn uniformly in [g_lo[k], g_hi[k]] =
    [sqrt(ab_k), sqrt(ab_{k-1})] with ab_{-1} = 1 (SR3's continuous noise level)."""
    ab = alpha_bars(kind, T)
    g = np.sqrt(ab)
    g_hi = np.concatenate([[1.0], g[:-1]])
    return (torch.tensor(g_hi, dtype=torch.float32, device=device), torch.tensor(g, dtype=torch.float32, device=device))


def sample_gamma(B, g_hi, g_lo, generator, device):
    k = torch.randint(0, g_lo.numel(), (B,), generator=generator, device=device)
    u = torch.rand(B, generator=generator, device=device)
    return g_lo[k] + u * (g_hi[k] - g_lo[k])


def q_sample(x0, gamma, noise):
    g = gamma.view(-1, 1, 1, 1)
    return g * x0 + torch.sqrt((1 - g * g).clamp_min(0)) * noise


def loss_fn(pred, target, kind: str, weight=None):
    """eps-space L1/L2, optionally weighted per sample (weight [B])."""
    d = pred.float() - target
    per = d.abs() if kind == "l1" else d * d
    if weight is None:
        return per.mean()
    return (per.mean(dim=(1, 2, 3)) * weight).mean()


def min_snr_weight(gamma, min_snr: float, kind: str):
    """Min-SNR-style truncation (Hang et al. 2023) for eps-loss: weight = min(SNR, k)/SNR with SNR = g^2/(1-g^2)
    (L2); for L1 the eps error scales with sqrt(SNR), so weight = min(sqrt(SNR), sqrt(k))/sqrt(SNR).
    Tames the low-noise levels, where eps = (x_t - g x0)/sigma amplifies x0 errors by g/sigma."""
    snr = gamma.float() ** 2 / (1 - gamma.float() ** 2).clamp_min(1e-8)
    w = snr.clamp(max=min_snr) / snr
    return w.sqrt() if kind == "l1" else w


def build_model(args) -> Denoiser:
    if args.preset:
        cfg = PRESETS[args.preset]
    else:
        cfg = UNetConfig(stem=args.stem, base=args.base, mults=tuple(int(m) for m in args.mults.split(",")),
                         blocks=args.blocks, emb_dim=args.emb_dim)
    if getattr(args, "mask_p", 0) > 0:
        cfg = dataclasses.replace(cfg, mask_in=True)
    return Denoiser(cfg)


def load_init(model: Denoiser, src: Denoiser, what: str):
    """--init: src's weights into model (same architecture), or, for a mask model from a model without the mask
    input that is otherwise the same, with the mask's first-conv columns zero (model.state_dict_with_mask)."""
    a, b = src.cfg.to_dict(), model.cfg.to_dict()
    if a == b:
        model.load_state_dict(src.state_dict())
        return "same architecture"
    if model.cfg.mask_in and not src.cfg.mask_in and dict(a, mask_in=True) == b:
        model.load_state_dict(state_dict_with_mask(src.state_dict(), model.cfg))
        return "mask input added, its weights zero"
    raise ValueError(f"--init {what}: its config {a} differs from this run's {b}")


def make_damage(args, device, step: int):
    """--mask-p P > 0: lr -> (damaged lr, LR mask) on a fraction P of each batch (damage.py), drawing from its own
    generator (so the data, degradation, gamma and noise draws are those of a run without it); else None."""
    if getattr(args, "mask_p", 0) <= 0:
        return None
    g = torch.Generator(device=device).manual_seed(args.seed + 3 + step)
    return lambda lr: damage_lr(lr, args.mask_p, DAMAGE_DEFAULT, g)


class Logger:
    def __init__(self, out_dir):
        self.f = open(os.path.join(out_dir, "metrics.jsonl"), "a")

    def log(self, rec: dict, text: str):
        print(text, flush=True)
        self.f.write(json.dumps(rec) + "\n")
        self.f.flush()


@torch.no_grad()
def val_loss(model, val_x, scale, g_values, loss_kind, device, autocast):
    """Fixed-noise validation loss at a few gamma values (deterministic: seed 0)."""
    model.eval()
    gen = torch.Generator(device="cpu").manual_seed(0)
    if scale == 0:  # face-blind: a fixed blind degradation (seed 0)
        hr, cond, _ = degrade_face_batch(val_x, generator=torch.Generator().manual_seed(0))
        hr, cond = hr.to(device), cond.to(device)
    else:
        hr, cond = degrade_batch(val_x, scale)
    out = {}
    for gv in g_values:
        noise = torch.randn(hr.shape, generator=gen).to(device)
        gamma = torch.full((hr.shape[0],), gv, device=device)
        with autocast():
            pred = model(q_sample(hr, gamma, noise), cond, gamma)
        out[f"{gv:g}"] = float(loss_fn(pred, noise, loss_kind))
    model.train()
    return out


def make_feeder(args, data, gen, cpu_gen, g_hi, g_lo, device, damage=None):
    """--data-workers K > 0: a Feeder whose produce() makes, in the main process and in the serial loop's order, every
    random draw of one step (data, degradation seeds/parameters, gamma, noise), and leaves the degradation to K
    worker processes, --prefetch batches ahead. None where the serial path is used (K = 0, or a degradation that
    runs on the device anyway)."""
    K = getattr(args, "data_workers", 0)
    if K <= 0:
        return None
    if args.task == "face-blind":
        cfg = FaceDegradeConfig(blur_impl=getattr(args, "face_blur", "conv"))

        def produce():
            x, min_scale = data.batch(args.batch, gen)
            drawn = draw_face_batch(x.shape[0], x.shape[-1], cfg, cpu_gen, min_scale)
            gamma = sample_gamma(args.batch, g_hi, g_lo, gen, device)
            noise = torch.randn(tuple(x.shape), generator=gen, device=device)
            return face_blind_pending(x, drawn, K, device, extra=(gamma, noise), cfg=cfg)
    elif args.task == "natural" and args.degrade == "real":
        real_p = getattr(args, "real_p", 0.8)

        def produce():
            x = data.batch(args.batch, cpu_gen)
            seeds = torch.randint(0, 2 ** 31 - 1, (x.shape[0],), generator=cpu_gen).tolist()  # as degrade.real_lr
            gamma = sample_gamma(args.batch, g_hi, g_lo, gen, device)
            noise = torch.randn(tuple(x.shape), generator=gen, device=device)
            return natural_real_pending(x, seeds, args.scale, real_p, K, device, extra=(gamma, noise), damage=damage)
    else:
        print(f"[data] --data-workers {K} ignored: task {args.task} / --degrade {args.degrade} degrades on the "
              f"{device} in the step", flush=True)
        return None
    t0 = time.time()
    pool = DegradePool(K)
    print(f"[data] {K} degradation workers ({time.time() - t0:.1f}s), {args.prefetch} batches in flight", flush=True)
    return Feeder(pool, produce, depth=args.prefetch)


def train(args):
    t_start = time.time()
    torch.set_num_threads(args.threads)  # (interop threads are set to 1 by train.py before any torch work)
    device = torch.device(args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu"))
    cuda = device.type == "cuda"
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    if getattr(args, "mask_p", 0) > 0 and args.task == "face-blind":
        raise ValueError("--mask-p: damage is drawn on the LR of the natural and face tasks; face-blind has no LR")
    os.makedirs(args.out, exist_ok=True)
    ck_dir = os.path.join(args.out, "ckpt")
    logger = Logger(args.out)
    torch.manual_seed(args.seed)

    # data
    t0 = time.time()
    if args.task == "face-blind":
        data = FaceBlindData(args.data, args.small_data, device=device, size=args.patch, small_p=args.small_p,
                             limit=args.limit)
    elif args.task == "face":
        data = FaceData(args.data, device=device, limit=args.limit, size=args.patch)
    else:
        # --data-workers with --degrade real: patches are cut on the host (the same crops), so that producing a
        # batch never waits for the device
        host = getattr(args, "data_workers", 0) > 0 and args.degrade == "real"
        data = PatchData(args.data, patch=args.patch, device="cpu" if host else device, limit=args.limit)
    print(f"[data] {len(data)} images from {args.data} on {device} in {time.time() - t0:.1f}s", flush=True)
    val_x = None
    if args.val_data:
        vd = FaceData(args.val_data, device=device, limit=args.val_n, size=args.patch) if args.task.startswith("face") else \
            PatchData(args.val_data, patch=args.patch, device=device, limit=args.val_n)
        val_x = vd.x if args.task.startswith("face") else vd.batch(args.val_n, torch.Generator().manual_seed(0))

    model = build_model(args).to(device)
    cfg = model.cfg
    if getattr(args, "init", ""):
        # Fine-tune: start from another run's EMA weights (same architecture), e.g. the GPU-trained package's.
        src, _ = ckpt.load_ema_model(args.init)
        how = load_init(model, src, args.init)
        print(f"[init] weights from {args.init} ({how})", flush=True)
    assert args.patch % cfg.multiple() == 0, f"patch {args.patch} must be a multiple of {cfg.multiple()}"
    nparams = n_params(model)
    ema = EMA(model, args.ema)
    opt_kw = {}
    if cuda and "fused" in torch.optim.AdamW.__init__.__code__.co_varnames:
        opt_kw["fused"] = True
    elif "foreach" in torch.optim.AdamW.__init__.__code__.co_varnames:
        opt_kw["foreach"] = True
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.99), weight_decay=0.0, **opt_kw)

    state = {"step": 0, "samples": 0, "train_seconds": 0.0, "sessions": []}
    if args.resume and os.path.exists(os.path.join(ck_dir, "state.json")):
        state = ckpt.load(ck_dir, model=model, ema=ema, opt=opt, map_location=device)
        print(f"[resume] step {state['step']} samples {state['samples']}", flush=True)
    gen = torch.Generator(device=device).manual_seed(args.seed + state["step"])
    cpu_gen = torch.Generator().manual_seed(args.seed + 1 + state["step"])
    g_hi, g_lo = gamma_tables(args.schedule, args.train_steps, device)

    fwd = model
    if args.compile and hasattr(torch, "compile"):
        fwd = torch.compile(model)
    use_bf16 = cuda and args.bf16
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if use_bf16 else \
        (lambda: torch.autocast("cpu", enabled=False))

    info = {"params": nparams, "config": cfg.to_dict(), "device": str(device), "torch": torch.__version__,
            "threads": args.threads, "batch": args.batch, "bf16": use_bf16, "compile": bool(args.compile),
            "optimizer": f"AdamW {opt_kw}", "args": vars(args)}
    with open(os.path.join(args.out, "run.json"), "w") as f:
        json.dump(info, f, indent=2, default=str)
    print(f"[model] {nparams / 1e6:.3f} M params, multiple {cfg.multiple()}, {json.dumps(cfg.to_dict())}", flush=True)

    def save(reason):
        st = dict(state)
        st["args"] = {k: v for k, v in vars(args).items()}
        ckpt.save(ck_dir, model=model, ema=ema, opt=opt, state=st, model_cfg=cfg.to_dict())
        print(f"[ckpt] {reason}: step {state['step']} samples {state['samples']} -> {ck_dir}", flush=True)

    deadline = t_start + args.max_minutes * 60 if args.max_minutes else None
    last_ckpt = time.time()
    acc = torch.zeros((), device=device)
    acc_eps = torch.zeros((), device=device)  # unweighted eps-L1, comparable across loss settings
    acc_mask = torch.zeros((), device=device)  # eps-L1 inside the damage masks (--mask-p), and their pixel count
    acc_mask_n = torch.zeros((), device=device)
    acc_n = 0
    t_log, s_log = time.time(), state["samples"]
    session_start = time.time()
    session_train0 = state["train_seconds"]
    model.train()
    stop = None
    face_cfg = FaceDegradeConfig(blur_impl=getattr(args, "face_blur", "conv"))
    # --echo R: each degraded batch serves R steps (data echoing, Choi et al. 2019): the repeats draw gamma and noise
    # from their own generator, so the main sequence (and --data-workers' independence of K) is untouched
    echo_left = 0
    echo_gen = torch.Generator(device=device).manual_seed(args.seed + 2 + state["step"])
    damage = make_damage(args, device, state["step"])
    masked = damage is not None
    mask = None
    feeder = make_feeder(args, data, gen, cpu_gen, g_hi, g_lo, device, damage)
    try:
        while stop is None:
            step = state["step"]
            # lr: linear warmup then constant (cosine decay optional)
            lr = args.lr * min(1.0, (step + 1) / max(1, args.warmup))
            if args.max_steps and args.cosine_decay:
                lr *= 0.5 * (1 + math.cos(math.pi * min(1.0, step / args.max_steps)))
            for gp in opt.param_groups:
                gp["lr"] = lr
            if echo_left > 0:  # --echo: the same degraded pair again, at a fresh noise level with fresh noise
                echo_left -= 1
                gamma = sample_gamma(args.batch, g_hi, g_lo, echo_gen, device)
                noise = torch.randn(hr.shape, generator=echo_gen, device=device)
            elif feeder is not None:  # degraded by the workers, drawn in this order in produce() (same as below)
                if masked:
                    hr, cond, mask, gamma, noise = feeder.next()
                else:
                    hr, cond, gamma, noise = feeder.next()
                echo_left = args.echo - 1
            else:
                echo_left = args.echo - 1
                if args.task == "face-blind":
                    # blind degradation per sample, drawn from the CPU generator (PIL JPEG runs on the host)
                    x, min_scale = data.batch(args.batch, gen)
                    hr, cond, _ = degrade_face_batch(x.cpu(), face_cfg, generator=cpu_gen, min_scale=min_scale)
                    hr, cond = hr.to(device), cond.to(device)
                else:
                    x = data.batch(args.batch, cpu_gen if args.task != "face" else gen)
                    out = degrade_batch(x, args.scale, args.degrade, args.oldphoto_p, generator=cpu_gen,
                                        real_p=getattr(args, "real_p", 0.8), damage=damage)
                    hr, cond = out[0], out[1]
                    if masked:
                        mask = out[2].to(hr.device)
                gamma = sample_gamma(args.batch, g_hi, g_lo, gen, device)
                noise = torch.randn(hr.shape, generator=gen, device=device)
            x_t = q_sample(hr, gamma, noise)
            with autocast():
                pred = fwd(x_t, cond, gamma, mask) if masked else fwd(x_t, cond, gamma)
            w = min_snr_weight(gamma, args.min_snr, args.loss) if args.min_snr > 0 else None
            loss = loss_fn(pred, noise, args.loss, w)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if args.clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            opt.step()
            ema.update()
            acc += loss.detach()
            acc_eps += (pred.detach().float() - noise).abs().mean()
            if masked:
                acc_mask += ((pred.detach().float() - noise).abs().mean(1, keepdim=True) * mask).sum()
                acc_mask_n += mask.sum()
            acc_n += 1
            state["step"] += 1
            state["samples"] += args.batch
            now = time.time()
            state["train_seconds"] = session_train0 + (now - session_start)
            if state["step"] % args.log_every == 0:
                l = float(acc) / acc_n  # the only host syncs, every log_every steps
                le = float(acc_eps) / acc_n
                sps = (state["samples"] - s_log) / max(1e-9, now - t_log)
                rec = {"step": state["step"], "samples": state["samples"], "loss": l, "eps_l1": le, "samples_per_s": sps,
                       "lr": lr, "elapsed_s": now - t_start, "time": time.strftime("%H:%M:%S", time.gmtime(now))}
                mtxt = ""
                if masked:
                    mn = float(acc_mask_n)
                    rec["mask_eps_l1"] = float(acc_mask) / mn if mn > 0 else None
                    rec["mask_fraction"] = mn / (acc_n * hr.shape[0] * hr.shape[-2] * hr.shape[-1])
                    mtxt = (f" mask-L1 {rec['mask_eps_l1']:.4f}" if mn > 0 else " mask-L1 -") + f" (mask {rec['mask_fraction']:.3f})"
                    acc_mask.zero_()
                    acc_mask_n.zero_()
                logger.log(rec, f"[train] {rec['time']} step {state['step']:6d} samples {state['samples']:8d} "
                                f"loss {l:.4f} eps-L1 {le:.4f}{mtxt} {sps:6.1f} samples/s lr {lr:.2e} elapsed {(now - t_start) / 60:.1f} min")
                acc.zero_()
                acc_eps.zero_()
                acc_n = 0
                t_log, s_log = time.time(), state["samples"]
            if args.max_steps and state["step"] >= args.max_steps:
                stop = "max-steps"
            elif deadline and now >= deadline:
                stop = "max-minutes"
            elif args.ckpt_minutes and now - last_ckpt >= args.ckpt_minutes * 60:
                if val_x is not None:
                    vl = val_loss(model, val_x, 0 if args.task == "face-blind" else args.scale, (0.2, 0.6, 0.95), args.loss, device, autocast)
                    logger.log({"step": state["step"], "samples": state["samples"], "val_loss": vl},
                               f"[val] step {state['step']} val loss by gamma {vl}")
                state["sessions"] = state.get("sessions", [])
                save("periodic")
                last_ckpt = time.time()
                t_log, s_log = time.time(), state["samples"]
    finally:
        if feeder is not None:
            feeder.close()
            print(f"[data] {feeder.pool.n} workers closed; the step waited {feeder.wait_s:.1f} s for degraded "
                  f"batches in this session", flush=True)
    state.setdefault("sessions", []).append({"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t_start)),
                                             "seconds": time.time() - t_start, "stop": stop,
                                             "device": str(device), "threads": args.threads})
    if val_x is not None:
        vl = val_loss(model, val_x, 0 if args.task == "face-blind" else args.scale, (0.2, 0.6, 0.95), args.loss, device, autocast)
        logger.log({"step": state["step"], "samples": state["samples"], "val_loss": vl},
                   f"[val] step {state['step']} val loss by gamma {vl}")
    save(f"final ({stop})")
    print(f"[done] {stop}: {state['step']} steps, {state['samples']} samples, "
          f"{state['train_seconds'] / 60:.1f} train-min total", flush=True)
    return state


def add_args(ap):
    ap.add_argument("--task", choices=["face", "natural", "face-blind"], default="face",
                    help="face-blind: --patch 256 aligned faces, blind degradation (degrade_face.py), cond at 256")
    ap.add_argument("--small-data", default="", help="face-blind: extra faces at patch/2 (UTKFace 128), upsampled")
    ap.add_argument("--small-p", type=float, default=0.25, help="face-blind: fraction of each batch from --small-data")
    ap.add_argument("--face-blur", choices=["conv", "fft"], default="conv",
                    help="face-blind: the 41-tap blur as a direct convolution (as before) or through rfft2 (equal within "
                         "~2e-6 before 8-bit rounding, ~5x faster degradation per CPU core)")
    ap.add_argument("--data", default="/work/shared/data/faces/train",
                    help="image folder, or a pack from pack_data.py (.npy decoded / .npz JPEG bytes); "
                         "several joined by commas (natural: e.g. natural/train,natural/train-hr)")
    ap.add_argument("--val-data", default="", help="folder for a fixed-noise validation loss at each checkpoint")
    ap.add_argument("--val-n", type=int, default=16)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N images")
    ap.add_argument("--scale", type=int, default=8)
    ap.add_argument("--patch", type=int, default=128, help="HR size (faces: the image size; natural: patch size)")
    ap.add_argument("--degrade", choices=["bicubic", "oldphoto", "real"], default="bicubic",
                    help="real: degrade_real.py's second-order + old-print pipeline on --real-p of each batch")
    ap.add_argument("--oldphoto-p", type=float, default=0.5)
    ap.add_argument("--real-p", type=float, default=0.8, help="--degrade real: fraction of each batch degraded")
    ap.add_argument("--mask-p", type=float, default=0.0,
                    help="damage repair (issue 17 item 2): the model gets a mask input (1 = damaged), and synthetic "
                         "damage (damage.py: scratches, cracks, blotches, dust) is drawn inside a random mask over the "
                         "degraded LR of this fraction of each batch (mask 0 elsewhere); target: the clean HR. With "
                         "--init from a model without the input, its weights start at zero (same outputs at mask 0)")
    ap.add_argument("--preset", default="s4-48", help="model preset (model.PRESETS); '' to use --stem/--base/...")
    ap.add_argument("--stem", type=int, default=4)
    ap.add_argument("--base", type=int, default=48)
    ap.add_argument("--mults", default="1,2,2")
    ap.add_argument("--blocks", type=int, default=2)
    ap.add_argument("--emb-dim", type=int, default=192)
    ap.add_argument("--schedule", choices=["cosine", "linear"], default="cosine")
    ap.add_argument("--train-steps", type=int, default=1000, help="T_train levels of the training schedule")
    ap.add_argument("--loss", choices=["l1", "l2"], default="l1")
    ap.add_argument("--min-snr", type=float, default=5.0, help="min-SNR loss truncation k (0 = plain eps loss)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--cosine-decay", action="store_true", help="cosine lr decay to 0 at --max-steps")
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--max-minutes", type=float, default=0, help="wall-clock limit (incl. data loading); saves and exits")
    ap.add_argument("--max-steps", type=int, default=0)
    ap.add_argument("--ckpt-minutes", type=float, default=10)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data-workers", type=int, default=0,
                    help="K worker processes degrade batches ahead of the step (--degrade real, face-blind); every "
                         "random draw stays in the main process, so batches do not depend on K (0: serial, as before)")
    ap.add_argument("--prefetch", type=int, default=3, help="with --data-workers: batches in flight")
    ap.add_argument("--echo", type=int, default=1,
                    help="use each degraded batch for this many steps, each with a fresh noise level and noise (1: off); "
                         "for a GPU that trains faster than the host degrades")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--bf16", type=int, default=1, help="bf16 autocast on CUDA (ignored on CPU)")
    ap.add_argument("--compile", action="store_true", help="torch.compile (torch 2.x)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="training/runs/face-x8")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--init", default="", help="start from these EMA weights (ema_fp16.pt or a checkpoint folder): fine-tuning")
    return ap
