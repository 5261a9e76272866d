"""Synthetic demo data: realistic LC/SC end faces and OD side views with exact dents and ROI truth.

``render_demo(out, seed, size, counts)`` writes a whole data set (see :mod:`core.synth.dataset`);
``render_sample(cls, rng, size, defective)`` renders one sample in memory as
``levels, mask, geometry``. The geometry each renderer guarantees is documented in
:mod:`core.synth.ring` (LC, SC) and :mod:`core.synth.side` (OD).
"""

from core.synth.dataset import PAPER_COUNTS, DemoSummary, render_demo, render_sample, resolve_counts
from core.synth.ring import EndFaceParams, end_face_params, render_end_face
from core.synth.sample import SynthSample, sample_rng
from core.synth.side import SideParams, render_side

__all__ = [
    "PAPER_COUNTS", "DemoSummary", "EndFaceParams", "SideParams", "SynthSample", "end_face_params",
    "render_demo", "render_end_face", "render_sample", "render_side", "resolve_counts", "sample_rng",
]
