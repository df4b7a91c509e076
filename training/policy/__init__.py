"""Learned skip policy (SkipDiff's SPN) for Daguerre: per-lane FSR mirroring the TS engine, RL (PPO) on a frozen
denoiser with a quality-gain-minus-call-price reward, export to policy.onnx, parity fixtures, evaluation."""
