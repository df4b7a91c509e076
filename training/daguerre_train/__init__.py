"""Daguerre training package: SR3-style conditional denoiser for SkipDiff super-resolution.

Runs on PyTorch 1.13 (CPU) and 2.x (GPU). See training/README.md.
"""
__version__ = "0.1.0"
