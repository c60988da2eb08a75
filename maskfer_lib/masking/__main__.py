"""CLI: ``python -m maskfer_lib.masking SRC DST --method celik|awfm|hayashi|template``."""

from __future__ import annotations

import argparse
import logging
import sys

from maskfer_lib.masking.core import METHODS


def main(argv: list[str] | None = None) -> int:
    """Build a masked ImageFolder copy and print the QC counts; exit 1 on bad input."""
    p = argparse.ArgumentParser(
        prog="python -m maskfer_lib.masking",
        description="Put synthetic masks on an ImageFolder dataset.",
    )
    p.add_argument("src", help="ImageFolder root (src/split/class/*.png|jpg); only read")
    p.add_argument("dst", help="output folder (masked images, manifest.csv, qc_report.csv)")
    p.add_argument("--method", choices=sorted(METHODS), default="hayashi")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=None, help="mask a seeded sample of N files")
    p.add_argument(
        "--crop",
        action="store_true",
        help="images are tight face crops: skip detection, use the whole image",
    )
    p.add_argument("--overwrite", action="store_true", help="allow a non-empty DST")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    from maskfer_lib.masking.folder import build_masked_folder

    try:
        report = build_masked_folder(
            args.src,
            args.dst,
            args.method,
            seed=args.seed,
            limit=args.limit,
            overwrite=args.overwrite,
            landmark_mode=True if args.crop else None,
        )
    except (FileNotFoundError, NotADirectoryError, FileExistsError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(
        f"{report.n_success}/{report.n_total} images masked ({report.success_rate:.1%}) "
        f"with {args.method} -> {args.dst}"
    )
    for reason, count in report.counts().items():
        if count:
            print(f"  {reason}: {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
