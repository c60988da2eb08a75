"""CLI: ``python -m maskfer_lib.masking SRC DST --method celik|awfm|hayashi|template``.

Masks every face of every image under SRC into DST (see ``folder.build_masked_folder``),
shows a progress bar over the files, prints the images and faces masked and the count of
each reason in ``manifest.csv``; exits 1 with an ``error:`` line on bad paths and 2 on bad
options.
"""

from __future__ import annotations

import argparse
import logging
import sys

from maskfer_lib.landmarks import DETECT_SIDE
from maskfer_lib.masking.core import METHODS
from maskfer_lib.masking.folder import build_masked_folder, summarise


def _positive_int(text: str) -> int:
    # argparse turns the ArgumentTypeError into "error: argument --x: ..." and exit code 2.
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1 or str(value) != text.strip().lstrip("+"):
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m maskfer_lib.masking",
        description="Put synthetic masks on every face of an ImageFolder dataset or photo folder.",
    )
    p.add_argument("src", help="ImageFolder root (src/split/class/*.png|jpg); only read")
    p.add_argument("dst", help="output folder (masked images, manifest.csv, qc_report.csv)")
    p.add_argument("--method", choices=sorted(METHODS), default="hayashi")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--limit", type=_positive_int, default=None, help="mask a seeded sample of N image files"
    )
    p.add_argument(
        "--crop",
        "--crops",
        dest="crop",
        action="store_true",
        help="images are tight face crops (e.g. FER2013): no detection, the whole image is the "
        "face when it passes a face check (noise and non-faces are reported as no_face)",
    )
    p.add_argument(
        "--max-faces",
        type=_positive_int,
        default=None,
        help="mask at most N faces per image (best detector scores); default: all",
    )
    p.add_argument(
        "--detect-side",
        type=_positive_int,
        default=DETECT_SIDE,
        help="detect faces on a copy of at most N px (longest side); landmarks use full size",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="allow a non-empty DST: first remove the outputs an earlier run wrote there",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    """Build a masked copy of SRC in DST and print the QC counts; exit 1 on bad input."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        report = build_masked_folder(
            args.src,
            args.dst,
            args.method,
            seed=args.seed,
            limit=args.limit,
            overwrite=args.overwrite,
            landmark_mode=True if args.crop else None,
            progress=not args.no_progress,
            max_faces=args.max_faces,
            detect_side=args.detect_side,
        )
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    _print_summary(report, args)
    return 0


def _print_summary(report, args) -> None:
    s = summarise(report.records)
    rate = s["written"] / s["images"] if s["images"] else float("nan")
    print(
        f"{s['written']}/{s['images']} images masked ({rate:.1%}) with {args.method} -> {args.dst}"
    )
    print(
        f"  faces: {s['faces_masked']} masked of {s['faces']} found; "
        f"{s['no_face']} images without a face; {s['images'] - s['decoded']} image files "
        f"unreadable or truncated; {s['files'] - s['images']} other files skipped"
    )
    if s["partly_masked"]:
        print(f"  {s['partly_masked']} written images still show an unmasked face (see manifest)")
    print("  manifest rows by reason:")
    for reason, count in report.counts().items():
        if count:
            print(f"    {reason}: {count}")
    _print_crop_hint(report.records, args)


def _print_crop_hint(records, args) -> None:
    # FER-style crops used to be taken for faces whatever they showed; now they must be
    # declared, so say so when small images found no face.
    if args.crop:
        return
    small = records["detail"].astype(str).str.contains("pass --crop", regex=False).sum()
    if small:
        print(
            f"hint: {small} small images had no detectable face; if they are tight face crops "
            "(e.g. FER2013), rerun with --crop"
        )


if __name__ == "__main__":
    sys.exit(main())
