#!/usr/bin/env bash
# One GPU session in a fixed wall-clock budget: benchmark rows, the study's run set, a pack.
#
#   benchmarks/gpu.sh [BUDGET_S=540] [OUT=gpu-out] [PRESET=paper] [KEY=VALUE ...]
#   benchmarks/gpu.sh 540 gpu-out paper              (the same, positionally)
#
# Settings are taken from the arguments only (never from the environment: a device runner
# may export its own OUT). Other keys: BENCH_S (bench budget, default min(120, BUDGET_S/4)),
# BENCH_PRESET (size of the bench rows, default paper = p 113), PACK_S (seconds kept for the
# pack, default 30), PACK_TO (a folder to copy the pack into at the end), PRECISION (the
# float32 matmul precision of the reproduce phase, exported as JAX_DEFAULT_MATMUL_PRECISION:
# e.g. highest; default: JAX's default, TF32 on recent NVIDIA GPUs), PYTHON.
#
# Phases, each under `timeout` so the whole stays inside BUDGET_S:
#   1. benchmarks/gpu_bench.py -> OUT/bench.json       (rows guarded inside BENCH_S)
#   2. python -m miiii.cli reproduce --preset PRESET --out OUT/reproduce
#      (with --budget-seconds when reproduce --help lists it; killed at the deadline otherwise)
#   3. benchmarks/pack.py OUT -> OUT/pack/              (<= 8 files of <= 16 MiB)
# Logs: OUT/*.log; phase timings and exit codes: OUT/phases.json. Exit status 0 when the pack
# was written, whatever the phases before it did (their codes are in phases.json).
set -u

main() {  # the whole script is read before any of it runs: editing it mid-run is safe
  BUDGET_S=540 OUT=gpu-out PRESET=paper BENCH_S= BENCH_PRESET=paper PACK_S=30 PACK_TO= PRECISION= PYTHON=
  pos=0
  for arg in "$@"; do
    case "$arg" in
      -h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
      BUDGET_S=*|OUT=*|PRESET=*|BENCH_S=*|BENCH_PRESET=*|PACK_S=*|PACK_TO=*|PRECISION=*|PYTHON=*)
        printf -v "${arg%%=*}" '%s' "${arg#*=}" ;;
      *=*) echo "gpu.sh: unknown setting ${arg%%=*} (see --help)" >&2; exit 2 ;;
      *) case $pos in
           0) BUDGET_S=$arg ;; 1) OUT=$arg ;; 2) PRESET=$arg ;;
           *) echo "gpu.sh: too many arguments (see --help)" >&2; exit 2 ;;
         esac
         pos=$((pos + 1)) ;;
    esac
  done
  for n in BUDGET_S PACK_S; do
    [[ ${!n} =~ ^[0-9]+$ ]] || { echo "gpu.sh: $n must be whole seconds, got '${!n}'" >&2; exit 2; }
  done
  [[ -z $BENCH_S ]] && BENCH_S=$(( BUDGET_S / 4 < 120 ? BUDGET_S / 4 : 120 ))
  [[ $BENCH_S =~ ^[0-9]+$ ]] || { echo "gpu.sh: BENCH_S must be whole seconds" >&2; exit 2; }
  if [[ -z $PYTHON ]]; then PYTHON=$(command -v python3 || command -v python); fi

  START=$SECONDS
  DEADLINE=$((START + BUDGET_S))
  REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd) || { echo "gpu.sh: cannot create $OUT" >&2; exit 2; }
  if [[ -n $PACK_TO ]]; then  # relative to where the script was called from, as OUT is
    mkdir -p "$PACK_TO" && PACK_TO=$(cd "$PACK_TO" && pwd) || { echo "gpu.sh: cannot create $PACK_TO" >&2; exit 2; }
  fi
  export PYTHONPATH="$REPO/src${PYTHONPATH:+:$PYTHONPATH}"
  cd "$REPO" || exit 2

  left() { echo $((DEADLINE - SECONDS)); }
  say() { echo "[gpu.sh +$((SECONDS - START))s] $*" >&2; }
  PHASES=()
  phase() {  # name rc seconds [note]
    PHASES+=("{\"phase\": \"$1\", \"rc\": $2, \"seconds\": $3, \"note\": \"${4:-}\"}")
  }
  write_phases() {
    local IFS=,
    printf '{"budget_s": %s, "bench_s": %s, "preset": "%s", "bench_preset": "%s", "elapsed_s": %s, "phases": [%s]}\n' \
      "$BUDGET_S" "$BENCH_S" "$PRESET" "$BENCH_PRESET" "$((SECONDS - START))" "${PHASES[*]}" > "$OUT/phases.json"
  }

  say "budget ${BUDGET_S}s (bench ${BENCH_S}s, pack ${PACK_S}s) -> $OUT; python $PYTHON"

  # 0. what the machine is (cheap; absent tools are fine)
  {
    "$PYTHON" -c 'import jax; print("jax", jax.__version__, jax.devices())' 2>&1
    if command -v nvidia-smi >/dev/null; then timeout 10 nvidia-smi 2>&1; else echo "no nvidia-smi"; fi
  } > "$OUT/machine.log"
  say "$(head -1 "$OUT/machine.log")"

  # 1. benchmark rows
  t=$SECONDS
  limit=$(( BENCH_S < $(left) - PACK_S ? BENCH_S : $(left) - PACK_S ))
  if (( limit >= 15 )); then
    say "bench: ${limit}s"
    timeout -s INT -k 5 "$limit" "$PYTHON" benchmarks/gpu_bench.py --out "$OUT/bench.json" \
      --budget $((limit - 10)) --preset "$BENCH_PRESET" > "$OUT/bench.log" 2>&1
    rc=$?
  else
    rc=-1 limit="skipped: ${limit}"
  fi
  phase bench $rc $((SECONDS - t)) "limit ${limit}s"
  say "bench: exit $rc after $((SECONDS - t))s"

  # 2. the study's run set
  t=$SECONDS
  limit=$(( $(left) - PACK_S ))
  note=""
  if (( limit >= 20 )); then
    args=(-m miiii.cli reproduce --preset "$PRESET" --out "$OUT/reproduce")
    if "$PYTHON" -m miiii.cli reproduce --help 2>/dev/null | grep -q -- '--budget-seconds'; then
      # stop at a chunk boundary with time to spare for the last chunk, analysis and report
      margin=$(( limit / 5 < 60 ? limit / 5 : 60 ))
      args+=(--budget-seconds $((limit - margin)))
      note="--budget-seconds $((limit - margin)), killed at ${limit}s"
    else
      note="no --budget-seconds in reproduce --help: killed at ${limit}s"
    fi
    [[ -n $PRECISION ]] && note="$note; JAX_DEFAULT_MATMUL_PRECISION=$PRECISION"
    say "reproduce: $note"
    envs=()  # an empty JAX_DEFAULT_MATMUL_PRECISION is an error in JAX: set it only with a value
    [[ -n $PRECISION ]] && envs=("JAX_DEFAULT_MATMUL_PRECISION=$PRECISION")
    env "${envs[@]}" timeout -s INT -k 10 "$limit" "$PYTHON" "${args[@]}" > "$OUT/reproduce.log" 2>&1
    rc=$?
  else
    rc=-1 note="skipped: ${limit}s left"
  fi
  phase reproduce $rc $((SECONDS - t)) "$note"
  say "reproduce: exit $rc after $((SECONDS - t))s"

  # 3. pack (gets whatever is left, at least PACK_S)
  t=$SECONDS
  write_phases
  limit=$(( $(left) > PACK_S ? $(left) : PACK_S ))
  timeout -k 5 "$limit" "$PYTHON" benchmarks/pack.py "$OUT" > "$OUT/pack.log" 2>&1
  rc=$?
  phase pack $rc $((SECONDS - t))
  write_phases
  cat "$OUT/pack.log" >&2
  if (( rc != 0 )); then say "pack failed (exit $rc): see $OUT/pack.log"; exit 1; fi
  if [[ -n $PACK_TO ]]; then cp "$OUT"/pack/* "$PACK_TO"/ && say "pack copied to $PACK_TO"; fi
  say "done in $((SECONDS - START))s: $OUT/pack"
}

main "$@"
