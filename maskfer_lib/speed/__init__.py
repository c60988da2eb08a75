"""How fast the models run on a CPU: latency and FPS (``latency``), FLOPs (``flops``) and
Putro's Table 2 analogue behind ``make bench`` (``table2``)."""
