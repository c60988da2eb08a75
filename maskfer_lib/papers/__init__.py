"""The papers' printed numbers, as printed, one module per paper (more move here over time)."""
