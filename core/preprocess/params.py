"""Parameters of the preprocessing pipeline (method.md section 1), one dataclass per stage.

Every field is declared with :func:`core.config.param`, so the CLI, the GUI forms and the saved
project file share one description. Sizes that must work at any image resolution are given as
fractions of the image (unit ``"x min(W,H)"``, ``"x W"`` ...) rather than pixels; kernel sizes are
pixels at the working resolution. Fields marked ``fitted`` are filled in by
:func:`core.preprocess.pipeline.fit_class_statistics`, never chosen by hand.

Values the paper names but whose numbers it lost (equations 1-4, 6) are parameters here with
defaults that work on the demo data: ``c_inner``/``c_outer`` rule, minimum area, top-k, dr, the
intermediate-level rule and which boundary sets the CGCM crop.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.config import param


@dataclass
class CGMPParams:
    """Contrast-Guided Morphological Preprocessing: CLAHE -> Gaussian blur -> Otsu -> closing."""

    clahe_clip_limit: float = param(2.0, "CLAHE contrast limit (higher = stronger local contrast)",
                                    min=0.1, max=40.0, step=0.1, group="CGMP")
    clahe_tiles: int = param(8, "CLAHE tile grid: the image is split into N x N tiles",
                             min=1, max=64, step=1, group="CGMP")
    blur_kernel: int = param(7, "Gaussian blur kernel size (odd; 1 = no blur)", unit="px",
                             min=1, max=99, step=2, group="CGMP")
    blur_sigma: float = param(0.0, "Gaussian blur sigma (0 = derived from the kernel size)",
                              unit="px", min=0.0, max=50.0, step=0.1, group="CGMP")
    close_shape: str = param("ellipse", "closing structuring element shape",
                             choices=("ellipse", "rect", "cross"), group="CGMP")
    close_kernel: int = param(9, "closing structuring element size (1 = no closing)", unit="px",
                              min=1, max=99, step=2, group="CGMP")
    close_iterations: int = param(1, "closing iterations", min=0, max=10, step=1, group="CGMP",
                                  advanced=True)
    min_contrast: float = param(2.0, "level-0 grey-value standard deviation below which the image "
                                "is reported as blank instead of searched", unit="grey levels",
                                min=0.0, max=64.0, step=0.5, group="CGMP", advanced=True)


@dataclass
class CGCMParams:
    """Circle-Guided Cropping & Masking (LC, SC).

    Circle candidates are the contours of the CGMP binary image (every contour, holes included, so
    the ring is found whether it is brighter or darker than its background); each gets a robust
    least-squares circle (see core.preprocess.cgcm). A candidate passes when its area is large
    enough, it is round (coverage, residual and fill tests), and - once ``r_mean`` is fitted - its
    radius lies in ``r_mean * (1 +- dr)``. The passed candidates are sorted by radius, descending,
    and of the first ``top_k`` the one nearest the image centre wins; a larger candidate
    concentric with it (the same ring's outer edge, when the bore or rib came nearer) takes its
    place.
    """

    edges: bool = param(False, "SC variant: invert the CGMP image and run Canny on it before "
                        "looking for circles (brings out the circular boundary)", group="Circle")
    canny_low: float = param(50.0, "Canny lower hysteresis threshold (SC variant)",
                             min=0.0, max=1000.0, step=1.0, group="Circle", advanced=True)
    canny_high: float = param(150.0, "Canny upper hysteresis threshold (SC variant)",
                              min=0.0, max=1000.0, step=1.0, group="Circle", advanced=True)
    edge_close_kernel: int = param(5, "closing of the Canny edges (SC variant), bridging the "
                                   "gaps edge thinning leaves where other edges meet the circle "
                                   "(1 = none)", unit="px", min=1, max=31, step=2, group="Circle",
                                   advanced=True)
    min_area: float = param(0.02, "minimum candidate area (area inside its contour)",
                            unit="x image area", min=0.0, max=1.0, step=0.005, group="Circle")
    min_radius: float = param(0.15, "smallest radius considered a ring face (before r_mean is "
                              "fitted)", unit="x min(W,H)", min=0.0, max=1.0, step=0.01,
                              group="Circle")
    max_radius: float = param(0.55, "largest radius considered a ring face", unit="x min(W,H)",
                              min=0.0, max=2.0, step=0.01, group="Circle")
    inlier_tol: float = param(0.01, "contour points within this distance of the circle count as "
                              "on it (at least 1.5 px); the rest is clutter touching the ring",
                              unit="x radius", min=0.0, max=1.0, step=0.005, group="Circle",
                              advanced=True)
    min_coverage: float = param(0.85, "roundness: smallest fraction of the circle (in 5 degree "
                                "sectors) traced by contour points", min=0.0, max=1.0, step=0.01,
                                group="Circle")
    max_fit_residual: float = param(0.02, "roundness: largest RMS distance of the contour points "
                                    "on the circle from it", unit="x radius", min=0.0, max=1.0,
                                    step=0.005, group="Circle")
    min_fill: float = param(0.9, "roundness: smallest contour area / fitted circle area",
                            min=0.0, max=1.0, step=0.01, group="Circle")
    r_mean: float | None = param(None, "mean ring-face radius over the class's training set",
                                 unit="px", min=0.0, fitted=True, group="Circle")
    dr: float = param(0.08, "radius tolerance around r_mean (paper's delta r)", unit="x r_mean",
                      min=0.0, max=1.0, step=0.01, group="Circle")
    top_k: int = param(3, "of the largest passed candidates, how many compete on distance to the "
                       "image centre", min=1, max=50, step=1, group="Circle")
    boundary_rule: str = param("ratio", "how c_inner / c_outer follow from the circle radius cr: "
                               "'ratio' (c = ratio * cr) or 'offset' (c = cr + offset)",
                               choices=("ratio", "offset"), group="Mask")
    c_inner_ratio: float = param(0.56, "inner mask boundary c_inner as a fraction of cr (masks "
                                 "the bore)", min=0.0, max=2.0, step=0.01, group="Mask")
    c_outer_ratio: float = param(1.01, "outer mask boundary c_outer as a fraction of cr",
                                 min=0.0, max=2.0, step=0.01, group="Mask")
    c_inner_offset: float = param(-100.0, "inner mask boundary c_inner = cr + offset ('offset' "
                                  "rule)", unit="px", min=-10000.0, max=10000.0, step=1.0,
                                  group="Mask", advanced=True)
    c_outer_offset: float = param(2.0, "outer mask boundary c_outer = cr + offset ('offset' rule)",
                                  unit="px", min=-10000.0, max=10000.0, step=1.0, group="Mask",
                                  advanced=True)
    crop_boundary: str = param("outer", "which boundary's radius sets the half side of the square "
                               "crop (the paper words it as c_inner; 'outer' keeps the whole face)",
                               choices=("outer", "inner"), group="Mask")


@dataclass
class EGGCCParams:
    """Ellipse-Guided Global Center Cropping (OD)."""

    margin_left: float = param(0.12, "fixed pre-crop removed from the left before detection",
                               unit="x W", min=0.0, max=0.45, step=0.01, group="Pre-crop")
    margin_right: float = param(0.12, "fixed pre-crop removed from the right", unit="x W",
                                min=0.0, max=0.45, step=0.01, group="Pre-crop")
    margin_top: float = param(0.02, "fixed pre-crop removed from the top", unit="x H",
                              min=0.0, max=0.45, step=0.01, group="Pre-crop")
    margin_bottom: float = param(0.02, "fixed pre-crop removed from the bottom", unit="x H",
                                 min=0.0, max=0.45, step=0.01, group="Pre-crop")
    min_area: float = param(0.02, "minimum candidate contour area", unit="x pre-crop area",
                            min=0.0, max=1.0, step=0.005, group="Ellipse")
    min_fill: float = param(0.85, "smallest contour area / fitted ellipse area (rejects ragged "
                            "blobs whose fitted ellipse is meaningless)", min=0.0, max=1.0,
                            step=0.01, group="Ellipse")
    boundary_points: int = param(72, "boundary samples at uniform angles for the inside-the-image "
                                 "test", min=4, max=3600, step=4, group="Ellipse")
    global_centre: tuple[float, float] | None = param(
        None, "global reference centre (x, y): mean ellipse centre over the OD training set",
        unit="px", fitted=True, group="Crop")
    crop_up: float = param(0.46, "crop extent above the reference centre", unit="x H",
                           min=0.0, max=1.0, step=0.005, group="Crop")
    crop_down: float = param(0.46, "crop extent below the reference centre", unit="x H",
                             min=0.0, max=1.0, step=0.005, group="Crop")
    crop_left: float = param(0.26, "crop extent left of the reference centre", unit="x W",
                             min=0.0, max=1.0, step=0.005, group="Crop")
    crop_right: float = param(0.26, "crop extent right of the reference centre", unit="x W",
                              min=0.0, max=1.0, step=0.005, group="Crop")
    mask: str = param("none", "what to mask inside the crop: 'none' (the paper: crop only) or "
                      "'ellipse' (outside this sample's ellipse scaled by mask_scale)",
                      choices=("none", "ellipse"), group="Crop")
    mask_scale: float = param(1.05, "scale of the detected ellipse used by mask='ellipse'",
                              min=0.5, max=2.0, step=0.01, group="Crop", advanced=True)


@dataclass
class ComposeParams:
    """Brightness composition: three levels of one sample -> the 3-channel model input."""

    layout: str = param("mix", "channels: 'mix' = [level 0, mix of 0 and 1, level 1] (LC, SC); "
                        "'levels' = [level 0, level 1, level 2] (OD)",
                        choices=("mix", "levels"), group="Compose")
    mix_weight: float = param(0.5, "intermediate level = (1 - w) * level 0 + w * level 1",
                              min=0.0, max=1.0, step=0.05, group="Compose")


# Per-class defaults live in the types, so a partial config file (say, only SC's dr) is filled in
# with that class's own defaults when loaded, not with another class's.

@dataclass
class SCCircleParams(CGCMParams):
    """CGCM for SC: the Canny variant on, and c_inner set for its wider bore (~0.62 r)."""

    edges: bool = param(True, "SC variant: invert the CGMP image and run Canny on it before "
                        "looking for circles (brings out the circular boundary)", group="Circle")
    c_inner_ratio: float = param(0.635, "inner mask boundary c_inner as a fraction of cr (masks "
                                 "the bore)", min=0.0, max=2.0, step=0.01, group="Mask")


@dataclass
class ODComposeParams(ComposeParams):
    """Composition for OD: all three levels."""

    layout: str = param("levels", "channels: 'mix' = [level 0, mix of 0 and 1, level 1] (LC, SC); "
                        "'levels' = [level 0, level 1, level 2] (OD)",
                        choices=("mix", "levels"), group="Compose")
