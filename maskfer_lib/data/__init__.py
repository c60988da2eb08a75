"""Datasets: every source becomes a FaceDataset; splits and model input. One module per job:

    images.py       the loaders' errors (:class:`DataFormatError` ...), reading image files
    layouts.py      what each dataset's folder holds (:data:`LAYOUTS`), split folder names
    imagefolder.py  ``root/[split/]class/*.png|jpg``            :func:`load_imagefolder`
    formats.py      FER2013 csv (:func:`load_fer2013_csv`) and Kaggle folders
                    (:func:`load_fer2013_folder`), KDEF (:func:`load_kdef`), RAF-DB basic
                    (:func:`load_rafdb`), LFW-FER (:func:`load_lfwfer`)
    splits.py       :func:`stratified_split`, :func:`identity_split` (no person in two
                    splits), :func:`kfold_indices` (Putro's 10-fold CV), caps and subsamples
    synthfacs.py    SynthFACS splits, cached (:func:`load_synthfacs`)
    load.py         a dataset name -> ``{"train", "val", "test"}`` (:func:`load_dataset`,
                    the notebooks' entry point) and its cheap pre-check (:func:`check_dataset`)
    inputs.py       :func:`to_model_input`: the float array a model takes

Class names, their spellings (:data:`SYNONYMS`) and class maps (:func:`map_classes`) live in
:mod:`maskfer_lib.labels`, the npz codec (:func:`save_splits`) in :mod:`maskfer_lib.records`;
all are re-exported here, so ``from maskfer_lib import data; data.load_dataset(...)`` is the
one import a caller needs. Seven-class sources share one order, :data:`CLASSES_7`.

Bad input never passes silently: a missing or misplaced path, a bad csv, an unknown class
folder (the closest known name is suggested), mixed image sizes without ``size=``, an
unreadable image or too few images per class raises an error naming the file and the fix
(a :class:`DataFormatError`, which is a ValueError, or FileNotFoundError /
NotADirectoryError / IsADirectoryError). ``on_error="skip"`` skips, logs and counts
unreadable images in ``ds.meta["skipped"]``; a split lacking a class is warned about and
recorded in its ``meta["missing_classes"]``.
"""

from maskfer_lib.data.formats import (
    FER2013_CODES,
    FER2013_FORMAT,
    FER2013_USAGE,
    KDEF_ANGLES,
    RAFDB_CODES,
    load_fer2013_csv,
    load_fer2013_folder,
    load_kdef,
    load_lfwfer,
    load_rafdb,
    parse_kdef_name,
)
from maskfer_lib.data.imagefolder import list_imagefolder, load_imagefolder
from maskfer_lib.data.images import (
    IMAGE_EXTENSIONS,
    IMAGE_SIZE_ENV,
    DataFormatError,
    MixedSizeError,
    TooFewImagesError,
)
from maskfer_lib.data.inputs import to_model_input
from maskfer_lib.data.layouts import CLASSES_FILE, LAYOUTS, SPLIT_ALIASES
from maskfer_lib.data.load import DATASETS, check_dataset, load_dataset
from maskfer_lib.data.splits import (
    apply_split,
    cap_per_class,
    identity_split,
    images_needed_per_class,
    kfold_indices,
    stratified_split,
    subsample,
)
from maskfer_lib.data.synthfacs import load_synthfacs
from maskfer_lib.labels import (
    CLASS_MAP_ORDER,
    CLASS_MAPS,
    CLASSES_3,
    CLASSES_4,
    CLASSES_7,
    MAP_7_TO_3,
    SYNONYMS,
    canonical_class,
    map_classes,
)
from maskfer_lib.records import load_splits, save_splits

__all__ = [
    "CLASSES_3",
    "CLASSES_4",
    "CLASSES_7",
    "CLASSES_FILE",
    "CLASS_MAPS",
    "CLASS_MAP_ORDER",
    "DATASETS",
    "DataFormatError",
    "FER2013_CODES",
    "FER2013_FORMAT",
    "FER2013_USAGE",
    "IMAGE_EXTENSIONS",
    "IMAGE_SIZE_ENV",
    "KDEF_ANGLES",
    "LAYOUTS",
    "MAP_7_TO_3",
    "MixedSizeError",
    "RAFDB_CODES",
    "SPLIT_ALIASES",
    "SYNONYMS",
    "TooFewImagesError",
    "apply_split",
    "canonical_class",
    "cap_per_class",
    "check_dataset",
    "identity_split",
    "images_needed_per_class",
    "kfold_indices",
    "list_imagefolder",
    "load_dataset",
    "load_fer2013_csv",
    "load_fer2013_folder",
    "load_imagefolder",
    "load_kdef",
    "load_lfwfer",
    "load_rafdb",
    "load_splits",
    "load_synthfacs",
    "map_classes",
    "parse_kdef_name",
    "save_splits",
    "stratified_split",
    "subsample",
    "to_model_input",
]
