"""Models: ViT encoders, the multi-task fine-tuning model, Dinomaly, ViTAD, their losses and files.

Every trainable model exposes the same surface, so one engine drives them all:

- ``trainable_parameters()`` -> the tensors the optimiser updates (frozen encoders excluded);
- ``forward(x) -> dict`` on a normalised ``(B, 3, H, W)`` batch (H, W multiples of the patch size);
- ``loss(outputs, batch, iteration) -> (total, {name: float})``; ``batch`` holds ``"image"`` and,
  for the patch task, ``"mask"`` (``(B, H, W)`` at the input size);
- detectors: ``anomaly_map(x) -> (maps (B, H, W), scores (B,))`` in float32, eval mode, no grad;
- the fine-tuning model: ``set_epoch(epoch)`` picks the task from the paper's schedule.

Models save as safetensors + JSON (:mod:`core.models.serialize`); loading never runs code.
"""

from core.models.dinomaly import Dinomaly, DinomalyConfig
from core.models.encoder import BACKBONES, EncoderConfig, ViTEncoder, create_encoder, encoder_from_config
from core.models.finetune import FineTuneConfig, FineTuneModel, task_for_epoch
from core.models.patch_labels import PatchLabelConfig, patch_labels
from core.models.serialize import load_model, read_meta, save_encoder, save_model
from core.models.vitad import ViTAD, ViTADConfig, vitad_image_size

__all__ = [
    "BACKBONES", "Dinomaly", "DinomalyConfig", "EncoderConfig", "FineTuneConfig", "FineTuneModel",
    "PatchLabelConfig", "ViTAD", "ViTADConfig", "ViTEncoder", "create_encoder", "encoder_from_config",
    "load_model", "patch_labels", "read_meta", "save_encoder", "save_model", "task_for_epoch",
    "vitad_image_size",
]
