"""Putro et al.'s Tables 1 and 2 as printed: accuracy, parameters, GFLOPs and FPS."""

TABLE1_ACCURACY_MKDEF = {
    "putro_slim": 0.9490,
    "putro_slim_rgc": 0.9699,
    "mobilenet_v1": 0.9548,
    "mobilenet_v2": 0.9393,
    "mobilenet_v3": 0.9303,
    "shufflenet_v1": 0.8830,
    "shufflenet_v2": 0.9074,
    "vgg16": 0.5353,
    "resnet18": 0.8263,
    "ghostnet": 0.9484,
}
"""Table 1: accuracy on masked KDEF (M-KDEF), 7 classes, 10-fold cross-validation."""

TABLE2_FPS = {
    "mobilenet_v1": (168.15, 57.19),
    "mobilenet_v2": (124.64, 51.72),
    "mobilenet_v3": (110.38, 48.51),
    "shufflenet_v1": (192.20, 60.15),
    "shufflenet_v2": (109.54, 48.19),
    "vgg16": (78.04, 41.69),
    "resnet18": (123.35, 51.08),
    "ghostnet": (123.12, 50.60),
    "putro_slim_rgc": (203.73, 61.30),
}
"""Table 2: (FPS classification, FPS integrated with a face detector), Keras."""

TABLE2_CPU = "Intel Core i7-6700T @ 2.80GHz"
"""The CPU of Table 2."""

TABLE2_PARAMS = {
    "mobilenet_v1": 3_236_039,
    "mobilenet_v2": 2_266_951,
    "mobilenet_v3": 5_127_839,
    "shufflenet_v1": 973_567,
    "shufflenet_v2": 4_025_915,
    "vgg16": 14_718_279,
    "resnet18": 11_198_919,
    "ghostnet": 3_918_680,
    "putro_slim_rgc": 756_447,
}
"""Table 2: parameters, Keras ``count_params`` (BatchNorm moving statistics included)."""

TABLE2_GFLOPS = {
    "mobilenet_v1": 0.04871,
    "mobilenet_v2": 0.03391,
    "mobilenet_v3": 0.04045,
    "shufflenet_v1": 0.01531,
    "shufflenet_v2": 0.05459,
    "vgg16": 1.41,
    "resnet18": 0.06506,
    "ghostnet": 0.0215,
    "putro_slim_rgc": 0.01914,
}
"""Table 2: GFLOPs (the paper's own convention)."""

TABLE1_PARAMS_SLIM = 376_000
"""Table 1, "Proposed Slim": parameters, printed rounded as "376K" (Table 2 omits Slim)."""

TABLE1_GFLOPS_SLIM = 0.016
"""Table 1, "Proposed Slim": GFLOPs, printed as "0.016G"."""

RGC_PARAMS_DERIVED = 380_561
"""Not printed: the parameters of RGC on the 160-channel map that Table 2's Slim + RGC total
implies (docs/putro-derivations.md), so Slim alone has 756,447 − 380,561 = 375,886."""
