"""``python -m evaluation.synthetic.demo --out data/demo``: regenerate the committed demo data."""

from __future__ import annotations

import argparse

from evaluation.synthetic.demo import plan, write_demo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evaluation.synthetic.demo", description=__doc__
    )
    parser.add_argument("--out", default="data/demo", help="folder for the demo tables")
    parser.add_argument("--registry", default="params/pilots.yaml", help="pilot registry to write")
    parser.add_argument("--readme", default="data/README.md", help="data dictionary to write")
    parser.add_argument("--seed", type=int, default=plan.SEED)
    args = parser.parse_args(argv)
    for path in write_demo(args.out, registry=args.registry, readme=args.readme, seed=args.seed):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
