"""Synthetic face masks for FER datasets: the four papers' methods behind one interface.

Methods (``method=``): ``"celik"`` (Çelik & Gören: perspective-warped mask image),
``"awfm"`` (Yang et al.: front/side mask by yaw, rotated by roll), ``"hayashi"`` (cloth masks
in white/black/gray, equal shares), ``"template"`` (procedural surgical, cloth, N95, KN95 and
patterned masks with colour randomisation). Every method returns the masked image and the
binary occlusion region; failures carry a named reason (``base.FAILURE_REASONS``).

Entry points: :func:`mask_face`, :func:`mask_dataset`, :func:`make_mu_dataset`,
:func:`build_masked_folder` and the CLI ``python -m maskfer_lib.masking SRC DST --method ...``.
"""

from maskfer_lib.masking.base import FAILURE_REASONS, SUCCESS, MaskResult
from maskfer_lib.masking.core import METHODS, get_method, mask_face, mask_faces
from maskfer_lib.masking.dataset import (
    QCReport,
    attach_landmarks,
    make_mu_dataset,
    mask_dataset,
    measure_speed,
)
from maskfer_lib.masking.folder import build_masked_folder

__all__ = [
    "FAILURE_REASONS",
    "SUCCESS",
    "MaskResult",
    "METHODS",
    "get_method",
    "mask_face",
    "mask_faces",
    "QCReport",
    "attach_landmarks",
    "make_mu_dataset",
    "mask_dataset",
    "measure_speed",
    "build_masked_folder",
]
