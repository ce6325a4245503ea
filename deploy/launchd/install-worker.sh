#!/usr/bin/env bash
# Installs an mlx-serving worker node as a launchd job on a Mac (Apple Silicon), started at load and
# restarted (at most every 10 s) whenever it exits with a failure, not after a clean exit.
#
#   deploy/launchd/install-worker.sh --id mac-2 --model llama=/Users/Shared/models/llama \
#       [--model other=/path] [--address 0.0.0.0:50051] [--advertise mac-2.lan:50051] \
#       [--nats nats://gateway.lan:4222] [--python ~/.mlx-serving/bin/python] \
#       [--mlx-serving /opt/homebrew/bin/mlx-serving] [--metrics-address 0.0.0.0:9464] [--daemon] [--print]
#
#   --daemon   a LaunchDaemon in /Library/LaunchDaemons (run with sudo; the job runs as the invoking
#              user via UserName, and starts at boot without a login), instead of a LaunchAgent in
#              ~/Library/LaunchAgents (starts at login)
#   --metrics-address  serve the node process's metrics for Prometheus (no authentication)
#   --print    print the plist and change nothing (deploy/launchd/com.mlx-serving.worker.plist is
#              this script's output for the example above; deploy/deploy.test.ts checks both)
#
# Logs: ~/Library/Logs/mlx-serving/worker.log (JSON lines; the ready line on stdout goes there too).
# Remove: launchctl bootout gui/$(id -u)/com.mlx-serving.worker (or system/… for --daemon).
set -euo pipefail

LABEL=com.mlx-serving.worker
id=''
address='0.0.0.0:50051'
advertise=''
nats=''
python=''
mlx=''
metrics=''
daemon=0
print=0
home=${HOME}
models=()

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

while [ $# -gt 0 ]; do
  case $1 in
    --id) id=$2; shift 2 ;;
    --model) models+=("$2"); shift 2 ;;
    --address) address=$2; shift 2 ;;
    --advertise) advertise=$2; shift 2 ;;
    --nats) nats=$2; shift 2 ;;
    --python) python=$2; shift 2 ;;
    --mlx-serving) mlx=$2; shift 2 ;;
    --metrics-address) metrics=$2; shift 2 ;;
    --home) home=$2; shift 2 ;;  # for --print on another machine (tests)
    --daemon) daemon=1; shift ;;
    --print) print=1; shift ;;
    -h|--help) usage ;;
    *) echo "install-worker.sh: unknown argument $1" >&2; usage ;;
  esac
done

[ -n "$id" ] || { echo "install-worker.sh: --id is required" >&2; exit 2; }
[ ${#models[@]} -gt 0 ] || { echo "install-worker.sh: at least one --model ID=DIR is required" >&2; exit 2; }
[ -n "$python" ] || python="$home/.mlx-serving/bin/python"
if [ -z "$mlx" ]; then mlx=$(command -v mlx-serving || echo /opt/homebrew/bin/mlx-serving); fi
case $mlx in /*) ;; *) echo "install-worker.sh: --mlx-serving must be an absolute path (launchd has no shell PATH)" >&2; exit 2 ;; esac

# XML escaping with sed, not ${s//&/…}: bash 5.2 reads `&` in a replacement as the match, and macOS
# ships bash 3.2, which does not; sed reads the same on both.
esc() { printf '%s' "$1" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g'; }
string() { printf '    <string>%s</string>\n' "$(esc "$1")"; }

args=("$mlx" worker --id "$id" --address "$address")
[ -z "$advertise" ] || args+=(--advertise "$advertise")
for m in "${models[@]}"; do args+=(--model "$m"); done
args+=(--python "$python")
[ -z "$nats" ] || args+=(--nats "$nats")
[ -z "$metrics" ] || args+=(--metrics-address "$metrics")

logdir="$home/Library/Logs/mlx-serving"
render() {
  cat <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>$LABEL</string>
  <key>ProgramArguments</key>
  <array>
EOF
  for a in "${args[@]}"; do string "$a"; done
  cat <<EOF
  </array>
  <key>EnvironmentVariables</key>
  <dict>
    <key>PATH</key>
    <string>$(esc "$(dirname "$python")"):/opt/homebrew/bin:/usr/local/bin:/usr/bin:/bin</string>
    <key>MLX_SERVING_CACHE_DIR</key>
    <string>$(esc "$home/Library/Caches/mlx-serving")</string>
  </dict>
  <key>WorkingDirectory</key>
  <string>$(esc "$home")</string>
EOF
  if [ "$daemon" = 1 ]; then
    printf '  <key>UserName</key>\n  <string>%s</string>\n' "$(esc "${SUDO_USER:-$(id -un)}")"
  fi
  cat <<EOF
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>ThrottleInterval</key>
  <integer>10</integer>
  <key>ExitTimeOut</key>
  <integer>120</integer>
  <key>ProcessType</key>
  <string>Interactive</string>
  <key>StandardOutPath</key>
  <string>$(esc "$logdir/worker.log")</string>
  <key>StandardErrorPath</key>
  <string>$(esc "$logdir/worker.log")</string>
</dict>
</plist>
EOF
}

if [ "$print" = 1 ]; then render; exit 0; fi

[ "$(uname -s)" = Darwin ] || { echo "install-worker.sh: launchd is macOS only (use --print elsewhere)" >&2; exit 2; }
[ -x "$mlx" ] || { echo "install-worker.sh: $mlx is not executable (npm install -g the mlx-serving tarball, or pass --mlx-serving)" >&2; exit 2; }
[ -x "$python" ] || echo "install-worker.sh: warning: $python not found (see README Deploy: the python runtime venv)" >&2

if [ "$daemon" = 1 ]; then
  dest=/Library/LaunchDaemons/$LABEL.plist; domain=system
else
  dest=$home/Library/LaunchAgents/$LABEL.plist; domain=gui/$(id -u)
fi
mkdir -p "$logdir" "$(dirname "$dest")"
tmp=$(mktemp)
render > "$tmp"
plutil -lint "$tmp" >/dev/null
launchctl bootout "$domain/$LABEL" 2>/dev/null || true
install -m 0644 "$tmp" "$dest"
rm -f "$tmp"
launchctl bootstrap "$domain" "$dest"
launchctl enable "$domain/$LABEL"
echo "installed $dest ($domain/$LABEL); logs: $logdir/worker.log"
echo "check: launchctl print $domain/$LABEL | head; tail -f $logdir/worker.log"
