"""Curator command line.

    python -m evidence validate [--data DIR] [--sources DIR]
    python -m evidence export --format csv|json --out DIR [--data DIR]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .store import load_store

TABLES = ("studies", "arms", "outcomes", "hazard_ratios", "adverse_events", "conflicts")


def _validate(args) -> int:
    store = load_store(args.data, sources=args.sources)
    if store.problems:
        for p in store.problems:
            print(p, file=sys.stderr)
        files = f"; files not read: {', '.join(store.withheld_files)}" if store.withheld_files else ""
        print(f"{len(store.problems)} problem(s); withheld studies: {', '.join(store.withheld_studies) or 'none'}"
              f"{files}", file=sys.stderr)
        return 1
    counts = ", ".join(f"{len(getattr(store, t))} {t.replace('_', ' ')}" for t in TABLES)
    checked = f"snippets checked against {args.sources}" if args.sources else "snippets NOT checked (no --sources)"
    print(f"OK: {counts}; {checked}")
    return 0


def _export(args) -> int:
    store = load_store(args.data, strict=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for t in TABLES:
        df = getattr(store, t)
        if args.format == "csv":
            df.to_csv(out / f"{t}.csv", index=False)
        else:
            (out / f"{t}.json").write_text(
                json.dumps(json.loads(df.to_json(orient="records")), indent=1, ensure_ascii=False),
                encoding="utf-8")
    print(f"wrote {len(TABLES)} {args.format} tables to {out}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evidence", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate", help="check every evidence file")
    v.add_argument("--data", default=None, help="directory of evidence files (default: the bundled ones)")
    v.add_argument("--sources", default=None, help="directory of the source texts; checks every snippet")
    e = sub.add_parser("export", help="write the tidy tables")
    e.add_argument("--format", choices=("csv", "json"), required=True)
    e.add_argument("--out", required=True)
    e.add_argument("--data", default=None)
    args = parser.parse_args(argv)
    try:
        return _validate(args) if args.command == "validate" else _export(args)
    except Exception as exc:  # a curator sees one line, not a traceback
        from .store import EvidenceError
        if isinstance(exc, EvidenceError):
            print(exc, file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
