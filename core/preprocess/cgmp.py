"""CGMP, Contrast-Guided Morphological Preprocessing: grey image -> binary foreground image.

CLAHE raises the local contrast of the ROI boundary, a Gaussian blur suppresses noise and
machining texture, Otsu's threshold splits foreground from background, and a morphological closing
fills the small gaps and broken boundaries the threshold leaves.
"""

from __future__ import annotations

import cv2
import numpy as np

from core.preprocess.params import CGMPParams

_SHAPES = {"ellipse": cv2.MORPH_ELLIPSE, "rect": cv2.MORPH_RECT, "cross": cv2.MORPH_CROSS}


def cgmp(grey: np.ndarray, params: CGMPParams, stages: dict[str, np.ndarray] | None = None
         ) -> np.ndarray:
    """The CGMP binary image (uint8 0/255, same frame as ``grey``).

    When ``stages`` is a dict, the intermediate images are stored in it under ``"clahe"``,
    ``"blur"``, ``"binary"`` and ``"closed"`` (no copies: each stage is a fresh array anyway).
    """
    clahe = cv2.createCLAHE(clipLimit=params.clahe_clip_limit,
                            tileGridSize=(params.clahe_tiles, params.clahe_tiles))
    img = clahe.apply(grey)
    if stages is not None:
        stages["clahe"] = img
    if params.blur_kernel > 1:
        k = params.blur_kernel | 1  # OpenCV needs an odd size
        img = cv2.GaussianBlur(img, (k, k), params.blur_sigma)
    if stages is not None:
        stages["blur"] = img
    _, binary = cv2.threshold(img, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    if stages is not None:
        stages["binary"] = binary
    closed = binary
    if params.close_kernel > 1 and params.close_iterations > 0:
        kernel = cv2.getStructuringElement(_SHAPES[params.close_shape],
                                           (params.close_kernel, params.close_kernel))
        closed = cv2.morphologyEx(binary, cv2.MORPH_CLOSE, kernel,
                                  iterations=params.close_iterations)
    if stages is not None:
        stages["closed"] = closed
    return closed
