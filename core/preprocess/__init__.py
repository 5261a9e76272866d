"""Classical ROI preprocessing (method.md section 1): CGMP, CGCM (LC/SC), EGGCC (OD), composition.

The entry points live in :mod:`core.preprocess.pipeline`; the stages are one module each
(``cgmp``, ``cgcm``, ``eggcc``, ``compose``) and ``overlay`` draws the result for people.
"""

from core.preprocess.cgcm import CircleShape
from core.preprocess.eggcc import EllipseShape
from core.preprocess.params import CGCMParams, CGMPParams, ComposeParams, EGGCCParams
from core.preprocess.pipeline import (ClassConfig, ODConfig, PreprocessConfig, PreprocessResult,
                                      SCConfig, default_class_config, fit_class_statistics,
                                      preprocess_sample)

__all__ = [
    "CGCMParams", "CGMPParams", "CircleShape", "ClassConfig", "ComposeParams", "EGGCCParams",
    "EllipseShape", "ODConfig", "PreprocessConfig", "PreprocessResult", "SCConfig",
    "default_class_config",
    "fit_class_statistics", "preprocess_sample",
]
