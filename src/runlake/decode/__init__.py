"""Decode stage: bytes of a watch file in, plain columns out (no units conversion yet)."""

from ._fit import FIT_EPOCH_S, DevField, FitFile, decode_fit, fit_crc16

__all__ = ["FIT_EPOCH_S", "DevField", "FitFile", "decode_fit", "fit_crc16"]
