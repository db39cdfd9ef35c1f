"""Pack a ``gpu.sh`` output folder into at most 8 files of at most 16 MiB each: ``OUT/pack/``.

    python benchmarks/pack.py OUT [--max-mib 16]

Files (each written only if there is something to put in it):

* ``bench.json``        the benchmark rows (``OUT/bench.json``)
* ``fidelity.json``     the reproduce command's claim table
* ``summaries.json``    every run set's ``summary.json`` and ``config.json`` (by run set name),
                        with the epoch each reached when a set stopped early (newest state)
* ``analysis.json``     every run set's ``analysis/analysis.json``
* ``report.html``       the HTML report (gzipped as ``report.html.gz`` if over the limit)
* ``tables.zip``        every run set's ``metrics.parquet``, ``omega.parquet`` and
                        ``grad_norms.parquet`` under ``<set>/``
* ``params.safetensors`` final parameters (a stopped set: its newest checkpoint), tensors
                        named ``<set>/<run index>/<name>``: whole runs, the first of every set
                        first, each added if it keeps the file under the limit
* ``manifest.json``     what is in each file, its size and sha256, what was left out and why,
                        the script's phases and exit codes and the tails of their logs

Uses only the standard library, numpy and safetensors.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import sys
import zipfile
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save

MIB = 1 << 20


def tail(path: Path, lines: int = 80) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    # progress bars rewrite one line with carriage returns: keep the last state of each line
    text = "\n".join(line.rsplit("\r", 1)[-1] for line in text.splitlines())
    return "\n".join(text.splitlines()[-lines:])


def read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def newest_state_epoch(run_dir: Path) -> int | None:
    """The epoch of the newest checkpoint file (``params_EEEEEE.safetensors``)."""
    eps = [int(m.group(1)) for f in (run_dir / "checkpoints").glob("params_*.safetensors")
           if (m := re.match(r"params_(\d+)\.safetensors", f.name))]
    return max(eps) if eps else None


class Packer:
    def __init__(self, out: Path, max_bytes: int):
        self.out, self.dir, self.max = out, out / "pack", max_bytes
        self.dir.mkdir(parents=True, exist_ok=True)
        for old in self.dir.iterdir():  # a re-pack replaces the previous one
            if old.is_file():
                old.unlink()
        self.files: dict[str, dict] = {}
        self.left_out: list[str] = []

    def put(self, name: str, data: bytes, what: str) -> None:
        if len(data) > self.max:
            gz = gzip.compress(data, 6)
            if len(gz) > self.max:
                self.left_out.append(f"{name}: {len(data) / MIB:.1f} MiB ({len(gz) / MIB:.1f} gzipped) "
                                     f"over the {self.max / MIB:.0f} MiB limit")
                return
            name, data, what = name + ".gz", gz, what + " (gzipped)"
        (self.dir / name).write_bytes(data)
        self.files[name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "what": what}

    def put_json(self, name: str, obj, what: str) -> None:
        self.put(name, (json.dumps(obj, indent=1, allow_nan=True) + "\n").encode(), what)


def run_sets(repro: Path) -> dict[str, Path]:
    runs = repro / "runs"
    return {d.name: d for d in sorted(runs.iterdir()) if d.is_dir()} if runs.is_dir() else {}


def pack_params(p: Packer, sets: dict[str, Path]) -> None:
    """Whole runs while they fit: the first run of every set, then the others in order."""
    loaded: dict[str, tuple[dict[str, np.ndarray], str]] = {}
    for name, d in sets.items():
        src, label = d / "checkpoints" / "final.safetensors", "final"
        if not src.exists():
            e = newest_state_epoch(d)
            if e is None:
                continue
            src, label = d / "checkpoints" / f"params_{e:06d}.safetensors", f"epoch {e} (set stopped early)"
        try:
            loaded[name] = (load_file(str(src)), label)
        except Exception as e:  # noqa: BLE001
            p.left_out.append(f"params of {name}: unreadable {src.name} ({e})")
    order = sorted(((r, name) for name, (arrays, _) in loaded.items()
                    for r in range(min(a.shape[0] for a in arrays.values()))),
                   key=lambda rn: (rn[0] > 0, list(loaded).index(rn[1]), rn[0]))
    tensors: dict[str, np.ndarray] = {}
    included, size = [], 0
    for r, name in order:
        arrays, label = loaded[name]
        run = {f"{name}/{r}/{k}": np.ascontiguousarray(a[r]) for k, a in arrays.items()}
        extra = sum(a.nbytes + 200 for a in run.values())
        if size + extra > p.max - 64 * 1024:
            p.left_out.append(f"params of {name} run {r}: would pass the size limit")
            continue
        tensors |= run
        size += extra
        included.append(f"{name}/{r} ({label})")
    if tensors:
        p.put("params.safetensors", save(tensors, metadata={"runs": json.dumps(included)}),
              "parameters (leading run axis split off): " + ", ".join(included))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="the gpu.sh output folder")
    ap.add_argument("--max-mib", type=float, default=16.0)
    args = ap.parse_args()
    out = Path(args.out)
    p = Packer(out, int(args.max_mib * MIB))
    repro = out / "reproduce"
    sets = run_sets(repro)

    if (b := read_json(out / "bench.json")) is not None:
        p.put_json("bench.json", b, "benchmark rows (benchmarks/gpu_bench.py)")
    if (f := read_json(repro / "fidelity.json")) is not None:
        p.put_json("fidelity.json", f, "reproduce: fidelity to the study, claim by claim")
    summ = {}
    for name, d in sets.items():
        summ[name] = {"config": read_json(d / "config.json"), "summary": read_json(d / "summary.json"),
                      "newest_checkpoint_epoch": newest_state_epoch(d)}
    if summ:
        p.put_json("summaries.json", summ, "per run set: config.json, summary.json (null: not finished)")
    ana = {name: a for name, d in sets.items() if (a := read_json(d / "analysis" / "analysis.json")) is not None}
    if ana:
        p.put_json("analysis.json", ana, "per run set: analysis/analysis.json")
    if (repro / "report.html").exists():
        p.put("report.html", (repro / "report.html").read_bytes(), "reproduce: HTML report")

    tables = [(f"{name}/{t}", d / t) for name, d in sets.items()
              for t in ("metrics.parquet", "omega.parquet", "grad_norms.parquet") if (d / t).exists()]
    if tables:
        zpath = p.dir / ".tables.zip.tmp"
        with zipfile.ZipFile(zpath, "w", zipfile.ZIP_STORED) as z:  # parquet is compressed already
            for arc, path in tables:
                z.write(path, arc)
        data = zpath.read_bytes()
        zpath.unlink()
        p.put("tables.zip", data, "parquet tables: " + ", ".join(a for a, _ in tables))
    pack_params(p, sets)

    manifest = {"files": p.files, "left_out": p.left_out, "limit_mib": args.max_mib,
                "phases": read_json(out / "phases.json"),
                "logs": {f.name: tail(f) for f in sorted(out.glob("*.log")) if f.name != "pack.log"}}
    p.put_json("manifest.json", manifest, "this list")
    n = len(list(p.dir.iterdir()))
    assert n <= 8, f"{n} files in {p.dir}"
    for f in sorted(p.dir.iterdir()):
        print(f"{f.stat().st_size / MIB:8.2f} MiB  {f.relative_to(out)}")
    for why in p.left_out:
        print(f"left out: {why}", file=sys.stderr)


if __name__ == "__main__":
    main()
