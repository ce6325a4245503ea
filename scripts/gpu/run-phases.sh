#!/usr/bin/env bash
# The issue-15 runs on the GPU host (an H200; see README "Live on a GPU"), stage by stage so that each
# fits one device call of at most 10 minutes. From the project's root, after `source /root/gpu/env.sh`:
#
#   bash scripts/gpu/run-phases.sh env              # interpreter, MLX device, node (seconds)
#   bash scripts/gpu/run-phases.sh smoke            # live-smoke (tiny model), 2 repetitions: the path works (~1.5 min)
#   bash scripts/gpu/run-phases.sh build [SIZE]     # build gpu-1b (default) into python/.cache/models (~10 s; gpu-8b ~1–2 min)
#   bash scripts/gpu/run-phases.sh probe            # prefill_chunk_probe.py on gpu-1b: step cost by chunk size, with/without clear_cache (~1 min)
#   bash scripts/gpu/run-phases.sh buckets          # bucket_probe.py on gpu-1b: decode step by context buckets (~1 min);
#                                                   # its best setting is exported to later stages and calls (buckets.env)
#   bash scripts/gpu/run-phases.sh insert           # insert_probe.py on gpu-1b: where a prefill-bearing step's time goes (~1 min)
#   bash scripts/gpu/run-phases.sh insert-nocudnn   # … with MLX_CUDA_USE_CUDNN_SDPA=0 (MLX's own attention kernels, no cuDNN graphs)
#   bash scripts/gpu/run-phases.sh phases 1         # phase 1 live, REPEAT (3) repetitions per side (~7 min)
#   bash scripts/gpu/run-phases.sh phases 2         # … phase 2 (~7 min)
#   bash scripts/gpu/run-phases.sh phases 3         # … phase 3 (~7 min)
#   bash scripts/gpu/run-phases.sh calibrate        # npm run calibrate on the GPU with gpu-1b (~1–2 min)
#   bash scripts/gpu/run-phases.sh calibrate-cudnn  # … with cuDNN attention on, as mlx_lm.server ships (the baseline's profile, local-MODEL-cudnn.json)
#   bash scripts/gpu/run-phases.sh calibrate-server # mlx_lm.server itself over HTTP (npm run calibrate:server; local-MODEL-mlx-lm-server.json)
#   bash scripts/gpu/run-phases.sh both 1 2 3       # sim (calibrated profile) vs live, BOTH_REPEAT (1) repetition (~8 min)
#   bash scripts/gpu/run-phases.sh scaleout         # issue 20, on nvidia-h200-x4: cluster-scale-out-gpu live, 1 worker node versus 4,
#                                                   # node i pinned to GPU i (--live-gpus LIVE_GPUS), SCALEOUT_REPEAT (3) repetitions (~8–9 min)
#   bash scripts/gpu/run-phases.sh scaleout-kill    # … cluster-scale-out-gpu-kill: w1 of the 4 SIGKILLed mid-run (~8–9 min)
#   bash scripts/gpu/run-phases.sh scaleout-both    # … sim (the calibrate stage's profile) beside live, BOTH_REPEAT (1) repetition
#   bash scripts/gpu/run-phases.sh pack             # tar reports/out/gpu into $OUT/gpu-results.tar.gz
#   bash scripts/gpu/run-phases.sh all              # everything above in order (~30 min: not in one device call)
#
# Several stages in one call: `run-phases.sh build phases 1` (a stage's arguments are the numbers and
# sizes after it). Every call ends with `pack`, so each device call brings back everything so far.
# Results: reports/out/gpu/<stage>/ (results.json, report.md, charts/*.svg), reports/out/gpu/timings.tsv.
# Environment: MLX_SERVING_PYTHON (default python3: the host's, with mlx on PYTHONPATH from env.sh),
# LIVE_MODEL (default gpu-1b), LIVE_PROFILE (gpu), LIVE_MAX_SEQUENCES (the candidate's sequences per worker; default the
# scenario's), REPEAT (3), FIRST (baseline|candidate: the side that runs first in repetition 1), RUN_TAG (a suffix of
# the phases stage's folder, live-phaseN-RUN_TAG: where N repetitions do not fit one device call, run REPEAT=1 N times
# with RUN_TAG=r1, r2, … and FIRST alternating, then merge them: npx tsx scenarios/merge-live.ts --out DIR r1 r2 …), BOTH_REPEAT (1), OUT (where the tarball
# goes; default reports/out), STAGE_TIMEOUT (570 s: a stage is interrupted (SIGINT: every live process
# stopped) before the device call's 600 s limit, so that `pack` still runs and the stage's log, with the
# per-side figures printed as each side ends, comes back), CALIBRATE_MAX_SEQUENCES (128), LIVE_GPUS (4: the scaleout
# stages pin worker node i to GPU i mod LIVE_GPUS and refuse to run when nvidia-smi lists fewer GPUs),
# SCALEOUT_REPEAT (3; if timings.tsv shows a scaleout stage cut at STAGE_TIMEOUT (exit 130), run it again with 2).
# Each stage's output is also written to reports/out/gpu/<stage>.log.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 2
export MLX_SERVING_PYTHON="${MLX_SERVING_PYTHON:-python3}"
MODEL="${LIVE_MODEL:-gpu-1b}"
REPEAT="${REPEAT:-3}"
BOTH_REPEAT="${BOTH_REPEAT:-1}"
STAGE_TIMEOUT="${STAGE_TIMEOUT:-570}"
CALIBRATE_MAX_SEQUENCES="${CALIBRATE_MAX_SEQUENCES:-128}"
PROFILE="${LIVE_PROFILE:-gpu}"
LIVE_GPUS="${LIVE_GPUS:-4}"
SCALEOUT_REPEAT="${SCALEOUT_REPEAT:-3}"
RESULTS=reports/out/gpu
TARBALL="${OUT:-reports/out}/gpu-results.tar.gz"
PHASES=(_ phase1-duplicate-heavy phase2-mixed phase3-high-concurrency)
mkdir -p "$RESULTS"
[ -f "$RESULTS/timings.tsv" ] || printf 'stage\tstatus\tseconds\tstarted\n' > "$RESULTS/timings.tsv"
command -v tsx >/dev/null || [ ! -x node_modules/.bin/tsx ] || PATH="$PWD/node_modules/.bin:$PATH"
command -v tsx >/dev/null || { echo "tsx not on PATH: source /root/gpu/env.sh first" >&2; exit 2; }
# A `buckets` stage of an earlier call left its best setting: used unless the caller set one.
if [ -z "${MLX_RUNTIME_CONTEXT_BUCKETS+set}" ] && [ -f "$RESULTS/buckets.env" ]; then
  # shellcheck disable=SC1091
  . "$RESULTS/buckets.env"
  echo "context buckets from $RESULTS/buckets.env: '${MLX_RUNTIME_CONTEXT_BUCKETS:-one batch}'" >&2
fi

# timed NAME CMD…: runs CMD, prints and records its wall time and exit status (1 = a target missed: not an error).
timed() {
  local name="$1"; shift
  local t0 started rc ms
  t0=$(date +%s%N); started=$(date -u +%FT%TZ)
  echo "==> [$started] $name: $*" >&2
  # SIGINT first (the scenario CLI stops its processes), SIGKILL 20 s later.
  timeout --signal=INT --kill-after=20 "$STAGE_TIMEOUT" "$@" 2>&1 | tee "$RESULTS/$name.log" >&2; rc=${PIPESTATUS[0]}
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  printf '%s\t%s\t%d.%01d\t%s\n' "$name" "$rc" $((ms / 1000)) $((ms % 1000 / 100)) "$started" >> "$RESULTS/timings.tsv"
  echo "<== $name: exit $rc in $((ms / 1000)) s" >&2
  return 0
}

scenario_names() { local n; for n in "$@"; do [ -n "${PHASES[$n]:-}" ] && [ "$n" -ge 1 ] || { echo "phase must be 1, 2 or 3, got $n" >&2; exit 2; }; echo "${PHASES[$n]}"; done; }

stage_env() {
  timed env bash -c "echo \"python: \$(command -v \"$MLX_SERVING_PYTHON\")\"; PYTHONPATH=python\${PYTHONPATH:+:\$PYTHONPATH} \"$MLX_SERVING_PYTHON\" -c 'import mlx.core as mx, mlx_lm, sys; print(\"mlx\", mx.__version__, \"mlx-lm\", mlx_lm.__version__, \"device\", mx.default_device(), \"python\", sys.version.split()[0]); print(\"device_info\", mx.device_info(), \"memory_limit\", mx.get_memory_limit()); from mlx_runtime.kv_budget import current_kv_budget; print(\"kv_budget\", current_kv_budget(0).describe())'; free -g | head -2; echo \"node: \$(node --version)\"; nvidia-smi --query-gpu=name,memory.total,memory.used --format=csv,noheader 2>/dev/null || true" \
    2>&1 | tee "$RESULTS/env.txt"
}

stage_build() {
  local size="${1:-$MODEL}"
  timed "build-$size" bash python/build-model.sh --size "$size" --out "python/.cache/models/$size" --if-changed
}

stage_phases() {
  local names; names=$(scenario_names "$@") || exit 2
  local tag; tag="live-phase$(IFS=-; echo "$*")${RUN_TAG:+-$RUN_TAG}"
  # shellcheck disable=SC2086
  timed "$tag" tsx scenarios/cli.ts $names --mode live --repeat "$REPEAT" ${FIRST:+--first "$FIRST"} --live-profile "$PROFILE" --live-model "$MODEL" ${LIVE_MAX_SEQUENCES:+--live-max-sequences "$LIVE_MAX_SEQUENCES"} --out "$RESULTS/$tag"
}

stage_probe() {
  timed "probe-prefill-chunk" "$MLX_SERVING_PYTHON" scripts/gpu/prefill_chunk_probe.py "python/.cache/models/$MODEL"
}

stage_buckets() {
  timed "probe-buckets" "$MLX_SERVING_PYTHON" scripts/gpu/bucket_probe.py "python/.cache/models/$MODEL"
  # The probe's best setting, for the phases of this call and of later calls on this machine.
  local best; best=$(awk '$1 == "best" { print $2 }' "$RESULTS/probe-buckets.log" | tail -1)
  [ -n "$best" ] || return 0
  if [ "$best" = none ]; then best=""; fi
  printf 'export MLX_RUNTIME_CONTEXT_BUCKETS=%s\n' "$best" > "$RESULTS/buckets.env"
  export MLX_RUNTIME_CONTEXT_BUCKETS="$best"
  echo "context buckets from the probe: '${best:-one batch}' ($RESULTS/buckets.env)" >&2
}

stage_insert() {
  timed "probe-insert" "$MLX_SERVING_PYTHON" scripts/gpu/insert_probe.py "python/.cache/models/$MODEL"
}

# The same probe with MLX's cuDNN attention off (MLX_CUDA_USE_CUDNN_SDPA=0): MLX builds a cuDNN graph for every
# new (batch, query length, key length, mask) shape of a prefill, and caches 256 of them.
stage_insert_nocudnn() {
  MLX_CUDA_USE_CUDNN_SDPA=0 timed "probe-insert-nocudnn" "$MLX_SERVING_PYTHON" scripts/gpu/insert_probe.py "python/.cache/models/$MODEL"
}

stage_smoke() {
  timed live-smoke tsx scenarios/cli.ts live-smoke --mode live --repeat 2 --out "$RESULTS/live-smoke"
}

stage_calibrate() {
  mkdir -p "$RESULTS/calibration"
  timed "calibrate-$MODEL" tsx scenarios/calibrate.ts --size "$MODEL" --max-sequences "$CALIBRATE_MAX_SEQUENCES" --out "$RESULTS/calibration/local-$MODEL.json"
}

stage_calibrate_cudnn() {
  mkdir -p "$RESULTS/calibration"
  timed "calibrate-cudnn-$MODEL" tsx scenarios/calibrate.ts --size "$MODEL" --max-sequences "$CALIBRATE_MAX_SEQUENCES" --cudnn-attention mlx --out "$RESULTS/calibration/local-$MODEL-cudnn.json"
}

stage_calibrate_server() {
  mkdir -p "$RESULTS/calibration"
  timed "calibrate-server-$MODEL" tsx scenarios/calibrate-server.ts --size "$MODEL" --out "$RESULTS/calibration/local-$MODEL-mlx-lm-server.json"
}

stage_both() {
  local names; names=$(scenario_names "$@") || exit 2
  local tag; tag="both-phase$(IFS=-; echo "$*")"
  local profile="$RESULTS/calibration/local-$MODEL.json"
  [ -f "$profile" ] || { echo "no profile at $profile: run the calibrate stage first" >&2; return 0; }
  # shellcheck disable=SC2086
  timed "$tag" tsx scenarios/cli.ts $names --mode both --repeat "$BOTH_REPEAT" --live-profile "$PROFILE" --live-model "$MODEL" --profile "$profile" --out "$RESULTS/$tag"
}

# Issue 20: one gateway in front of 1 worker node, then 4, each node (and its python runtime) pinned to
# its own GPU. Needs LIVE_GPUS GPUs on this host (nvidia-h200-x4): on fewer, several nodes would share one.
gpus_ok() {
  local have; have=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true)
  if [ "${have:-0}" -lt "$LIVE_GPUS" ]; then
    echo "scaleout needs $LIVE_GPUS GPUs (LIVE_GPUS), nvidia-smi lists ${have:-0}: run it on nvidia-h200-x4 (LIVE_GPUS=N for fewer, nodes then share GPUs)" >&2
    printf '%s\t%s\t%s\t%s\n' "$1" "no-gpus" 0 "$(date -u +%FT%TZ)" >> "$RESULTS/timings.tsv"
    return 1
  fi
}

stage_scaleout() {
  local scenario="$1" tag="$2"
  gpus_ok "$tag" || return 0
  nvidia-smi --query-gpu=index,name,memory.used --format=csv,noheader > "$RESULTS/$tag-gpus-before.txt" 2>&1 || true
  timed "$tag" tsx scenarios/cli.ts "$scenario" --mode live --repeat "$SCALEOUT_REPEAT" --live-gpus "$LIVE_GPUS" --live-profile "$PROFILE" --live-model "$MODEL" ${LIVE_MAX_SEQUENCES:+--live-max-sequences "$LIVE_MAX_SEQUENCES"} --out "$RESULTS/$tag"
}

stage_scaleout_both() {
  local profile="$RESULTS/calibration/local-$MODEL.json"
  [ -f "$profile" ] || { echo "no profile at $profile: run the calibrate stage first" >&2; return 0; }
  gpus_ok both-scaleout || return 0
  timed both-scaleout tsx scenarios/cli.ts cluster-scale-out-gpu --mode both --repeat "$BOTH_REPEAT" --live-gpus "$LIVE_GPUS" --live-profile "$PROFILE" --live-model "$MODEL" --profile "$profile" --out "$RESULTS/both-scaleout"
}

stage_pack() {
  mkdir -p "$(dirname "$TARBALL")"
  # Reports only (results.json, report.md, charts, sim-vs-live, calibration, timings): never the models.
  tar czf "$TARBALL" --exclude='index.html' "$RESULTS" && echo "packed $(du -h "$TARBALL" | cut -f1) into $TARBALL" >&2
  cat "$RESULTS/timings.tsv" >&2
}

[ $# -gt 0 ] || { sed -n '2,35p' "$0"; exit 2; }
if [ "$1" = all ]; then set -- env smoke build phases 1 phases 2 phases 3 calibrate both 1 2 3; fi
while [ $# -gt 0 ]; do
  stage="$1"; shift
  args=()
  while [ $# -gt 0 ] && [[ "$1" =~ ^([0-9]+|gpu-1b|gpu-8b|tiny|small)$ ]]; do args+=("$1"); shift; done
  case "$stage" in
    env) stage_env ;;
    smoke) stage_smoke ;;
    probe) stage_probe ;;
    buckets) stage_buckets ;;
    insert) stage_insert ;;
    insert-nocudnn) stage_insert_nocudnn ;;
    build) stage_build "${args[@]+"${args[@]}"}" ;;
    phases) [ ${#args[@]} -gt 0 ] || args=(1 2 3); stage_phases "${args[@]}" ;;
    calibrate) stage_calibrate ;;
    calibrate-cudnn) stage_calibrate_cudnn ;;
    calibrate-server) stage_calibrate_server ;;
    both) [ ${#args[@]} -gt 0 ] || args=(1 2 3); stage_both "${args[@]}" ;;
    scaleout) stage_scaleout cluster-scale-out-gpu live-scaleout ;;
    scaleout-kill) stage_scaleout cluster-scale-out-gpu-kill live-scaleout-kill ;;
    scaleout-both) stage_scaleout_both ;;
    pack) ;;
    *) echo "unknown stage $stage (env, smoke, build [SIZE], probe, buckets, insert, phases N…, calibrate, calibrate-cudnn, calibrate-server, both N…, scaleout, scaleout-kill, scaleout-both, pack, all)" >&2; exit 2 ;;
  esac
done
stage_pack
