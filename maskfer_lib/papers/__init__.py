"""The papers' printed numbers, as printed, one module per paper; nowhere else types them in.

``celik`` (Tables 2–5, with our results laid out the same way), ``putro`` (Tables 1 and 2),
``yang`` (Section 6's two accuracies) and ``hayashi`` (Table 3). Each imports at most numpy
and pandas, so the model registry can read its printed counts without a framework.
"""
