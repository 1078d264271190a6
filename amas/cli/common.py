"""Helpers shared by the sub-commands."""

from __future__ import annotations

import argparse

from amas.runtime.settings import DataPaths, resolve_data_dir


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        default=None,
        help="data folder (default: $AMAS_DATA_DIR, else ./.amas)",
    )


def data_paths(args: argparse.Namespace) -> DataPaths:
    return DataPaths(resolve_data_dir(args.data_dir))
