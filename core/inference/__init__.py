"""A trained run applied to new samples: anomaly maps, scores, OK/NG decisions and their pictures.

Start with :meth:`Inspector.from_run`, then :meth:`Inspector.score_levels` for the brightness levels
of one sample, and :func:`overlay_png` for a picture of the result.
"""

from core.inference.inspector import InspectionResult, Inspector, class_run_folders, place_in_image
from core.inference.overlay import overlay_image, overlay_png

__all__ = ["InspectionResult", "Inspector", "class_run_folders", "overlay_image", "overlay_png",
           "place_in_image"]
