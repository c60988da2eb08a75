"""Yang, Wu & Hattori's printed numbers, as printed (the paper has no results table).

Section 6 ("Face Mask aware FER System") sums up their two approaches with one rounded
accuracy each, citing their earlier papers for the measurement; it prints no parameter count.
"""

APPROACH1_ACCURACY = 0.87
"""Approach 1 (inpainting, then two-branch FER): "average detection accuracy of 87%", Sec. 6."""

APPROACH2_ACCURACY = 0.90
"""Approach 2 (occlusion heat map, then attention FER): "around 90%", Sec. 6."""
