#!/usr/bin/env bash
# Benchmark (issue 15; not part of the default tests): sign N fresh images in a registry on loopback
# (Debian's docker-registry, or with --registry referrers go-containerregistry's registry with the OCI 1.1
# referrers API, tests/peers/referrers-registry, which takes one-request uploads), reached through toxiproxy adding 0 or 20 ms of round-trip time (half each way, every exchange),
# in key mode (no log) and keyless (the test Sigstore instance of tests/peers/sigstore, behind the same
# latency). ferrosign signs the N images in ONE process; cosign v2 and v3 run one process per image (how
# workflows call it). The tools take turns within each cell (the order rotates each round), so every ratio
# is measured side by side on the same machine load.
# Reported per cell: wall time (median of the rounds), registry requests per image (the registry's access
# log), peak RSS (GNU time, the largest process), CPU seconds (user + system) of the signing tool's
# processes (GNU time), of the registry, of toxiproxy and of the test Sigstore instance (/proc/PID/stat,
# read before and after the signing; pushing the images is not counted), the registry's CPU per request,
# and the CPU the whole machine spent meanwhile (/proc/stat, all cores, other users' work included); per tool: time from process start to its first
# connection (key mode), binary sizes; then each target of issue 15, met or not.
#   bash bench/run.sh                                   # everything (about 20-30 min on 2 cores)
#   bash bench/run.sh --n "1 10" --rtt 20 --modes key   # a part
#   bash bench/run.sh --bin /path/to/ferrosign --label main-de8742b   # another ferrosign binary
# Options: --registry docker|referrers (default docker), --n LIST, --cosign-n LIST (the N at which cosign runs too; default: every N), --rtt LIST (ms), --modes "key keyless", --tools "ferrosign cosign-v2 cosign-v3"
# (also ferrosign-legacy and ferrosign-bundle: one layout, key mode only),
# --rounds R (rounds for N <= 10; N = 100 runs once), --bin PATH (default: the static build, as the
# container image ships it), --fs-args "ARGS" (more flags for ferrosign's sign, e.g. "--max-workers 32"), --label NAME, --out DIR (default .cache/bench/LABEL). Results: DIR/results.md,
# DIR/results.tsv, DIR/sequence-*.txt (each tool's registry requests for one image).
set -euo pipefail
cd "$(dirname "$0")/.."
repo_root=$PWD
source scripts/peers.sh

sizes="1 10 100" cosign_sizes="" rtts="0 20" modes="key keyless" tools="ferrosign cosign-v2 cosign-v3"
rounds=3 bin="" label="" out="" fs_args="" registry=docker
while [ $# -gt 0 ]; do
  case $1 in
    --n) sizes=$2; shift 2 ;;
    --cosign-n) cosign_sizes=$2; shift 2 ;;
    --rtt) rtts=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    --tools) tools=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --label) label=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --fs-args) fs_args=$2; shift 2 ;;
    --registry) registry=$2; shift 2 ;;
    *) echo "unknown option $1 (see the header of $0)"; exit 2 ;;
  esac
done

case $registry in
  docker) apt_install /usr/bin/docker-registry docker-registry ;;
  referrers) install_referrers_registry ;;
  *) echo "--registry is docker or referrers, not $registry"; exit 2 ;;
esac
apt_install /usr/bin/time time
apt_install curl curl
install_cosign v2 "$COSIGN_V2_VERSION"
install_cosign v3 "$COSIGN_V3_VERSION"
install_toxiproxy
case " $modes " in *" keyless "*) install_sigstore_peers ;; esac

if [ -z "$bin" ]; then
  bash scripts/static-build.sh >/dev/null
  bin="${CARGO_TARGET_DIR:-target}/$(uname -m)-unknown-linux-musl/release/ferrosign"
fi
bin=$(realpath "$bin")
[ -n "$label" ] || label="$(git rev-parse --abbrev-ref HEAD)-$(git rev-parse --short HEAD)"
out=${out:-$repo_root/.cache/bench/$label-$registry}
mkdir -p "$out"
out=$(realpath "$out")
helper="python3 $repo_root/bench/helper.py"

work=$(mktemp -d)
TOXI_PID= SIG_PID= SIG= oidc_url= oidc_token= TOKEN=
cleanup() {
  stop_local_registry
  stop_referrers_registry
  { [ -n "$TOXI_PID" ] && kill "$TOXI_PID" 2>/dev/null && wait "$TOXI_PID" 2>/dev/null; } || true
  { [ -n "$SIG_PID" ] && kill "$SIG_PID" 2>/dev/null && wait "$SIG_PID" 2>/dev/null; } || true
  rm -rf "$work"
}
trap cleanup EXIT

# Only loopback: cosign's TUF refresh fails at once on a dead proxy instead of reaching out.
export HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 NO_PROXY=127.0.0.1,localhost
export COSIGN_PASSWORD=bench TUF_ROOT="$work/tuf" DOCKER_CONFIG="$work/docker" SIGSTORE_NO_CACHE=1
cd "$work"
"$bin" generate-key-pair >/dev/null 2>&1

# The registry, its access log in $work/registry.log (both write `"METHOD URI PROTO" STATUS …` lines).
if [ "$registry" = docker ]; then
  start_local_registry "$work" "{level: info, accesslog: {disabled: false}}"
  REG_PID=$REGISTRY_PID
  reg_version="$(/usr/bin/docker-registry --version 2>/dev/null | head -1)"
else
  start_referrers_registry "$work" -access-log "$work/registry.log"
  REG_PID=$RR_PID REGISTRY=$RR_REGISTRY
  reg_version="go-containerregistry $(sed -n 's#^require github.com/google/go-containerregistry ##p' \
    "$repo_root/tests/peers/referrers-registry/go.mod") pkg/registry with the referrers API (tests/peers/referrers-registry)"
fi
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# toxiproxy: its API on a free port, one proxy for the registry and one for the Sigstore instance.
for _ in $(seq 20); do
  tport=$(( 20000 + RANDOM % 40000 )); port_free "$tport" && break
done
"$FERROSIGN_TOXIPROXY" -host 127.0.0.1 -port "$tport" > "$work/toxiproxy.log" 2>&1 &
TOXI_PID=$!
toxi="http://127.0.0.1:$tport"
for _ in $(seq 100); do curl -fsS "$toxi/version" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "$toxi/version" >/dev/null 2>&1 || { echo "toxiproxy did not answer on $toxi:"; cat "$work/toxiproxy.log"; exit 1; }
proxy() { # name upstream -> listen address
  curl -fsS -X POST -d "{\"name\":\"$1\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"$2\"}" "$toxi/proxies" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["listen"])'
}
REG=$(proxy registry "$REGISTRY")
set_rtt() { # ms: latency/2 on each direction of every proxy
  local p s
  for p in registry sigstore; do
    curl -fsS "$toxi/proxies/$p" >/dev/null 2>&1 || continue
    for s in upstream downstream; do
      curl -fsS -X DELETE "$toxi/proxies/$p/toxics/lat_$s" >/dev/null 2>&1 || true
      if [ "$1" != 0 ]; then
        curl -fsS -X POST -d "{\"name\":\"lat_$s\",\"type\":\"latency\",\"stream\":\"$s\",\"attributes\":{\"latency\":$(( $1 / 2 ))}}" \
          "$toxi/proxies/$p/toxics" >/dev/null
      fi
    done
  done
}

# The test Sigstore instance, for keyless.
case " $modes " in *" keyless "*)
  mkdir -p "$work/sig"
  "$FERROSIGN_SIGSTORE_VENV/bin/python" "$repo_root/tests/peers/sigstore/fake_sigstore.py" --dir "$work/sig" \
    --no-stdin-watch > "$work/sig.out" 2> "$work/sig.log" &
  SIG_PID=$!
  for _ in $(seq 300); do grep -q '^READY ' "$work/sig.out" 2>/dev/null && break; sleep 0.1; done
  grep -q '^READY ' "$work/sig.out" || { echo "the test Sigstore instance did not start"; cat "$work/sig.log"; exit 1; }
  ready() { python3 -c "import json,sys; print(json.load(open('$work/sig/ready.json'))[sys.argv[1]])" "$1"; }
  sig_url=$(ready url)
  SIG="http://$(proxy sigstore "${sig_url#http://}")"
  oidc_url=$(ready actions_id_token_request_url)
  oidc_token=$(ready actions_id_token_request_token)
  # cosign v3 reads the service URLs from the signing config: point it at the proxy.
  sed "s#$sig_url#$SIG#g" "$work/sig/signing_config.v0.2.json" > "$work/signing_config.json"
  export SIGSTORE_ROOT_FILE_V2="$(ready fulcio_chain)" SIGSTORE_REKOR_KEY_V2="$(ready rekor_pub)" SIGSTORE_CT_KEY_V2="$(ready ctlog_pub)"
  ;;
esac

# sign TOOL MODE REFS…: one process of TOOL over REFS, under GNU time (peak RSS to $work/rss); stdout
# discarded, stderr to err.log. Keyless uses the identity token in $TOKEN (fetched before the clock starts).
sign() {
  local tool=$1 mode=$2; shift 2
  local cmd=() f
  case $tool-$mode in
    ferrosign-key) cmd=("$bin" sign --key cosign.key --tlog-upload=false --allow-insecure-registry) ;;
    ferrosign-legacy-key|ferrosign-bundle-key) f=${tool#ferrosign-}
      cmd=("$bin" sign --signature-format "$f" --key cosign.key --tlog-upload=false --allow-insecure-registry) ;;
    ferrosign-keyless) cmd=("$bin" sign --allow-insecure-registry --fulcio-url "$SIG" --rekor-url "$SIG"
      --trusted-root "$work/sig/trusted_root.json" --identity-token "$TOKEN") ;;
    cosign-v2-key) cmd=("$FERROSIGN_COSIGN_V2" sign -y --key cosign.key --tlog-upload=false --allow-http-registry) ;;
    cosign-v3-key) cmd=("$FERROSIGN_COSIGN_V3" sign -y --key cosign.key --tlog-upload=false --use-signing-config=false
      --allow-http-registry) ;;
    cosign-v2-keyless) cmd=(env "SIGSTORE_ROOT_FILE=$SIGSTORE_ROOT_FILE_V2" "SIGSTORE_REKOR_PUBLIC_KEY=$SIGSTORE_REKOR_KEY_V2"
      "SIGSTORE_CT_LOG_PUBLIC_KEY_FILE=$SIGSTORE_CT_KEY_V2" "$FERROSIGN_COSIGN_V2" sign -y --allow-http-registry
      --fulcio-url "$SIG" --rekor-url "$SIG" --identity-token "$TOKEN") ;;
    cosign-v3-keyless) cmd=("$FERROSIGN_COSIGN_V3" sign -y --allow-http-registry --signing-config "$work/signing_config.json"
      --trusted-root "$work/sig/trusted_root.json" --identity-token "$TOKEN") ;;
  esac
  # shellcheck disable=SC2206  # --fs-args is split into words on purpose
  if [[ $tool == ferrosign* ]]; then cmd+=($fs_args); fi
  /usr/bin/time -f '%M %U %S' -o "$work/rss" "${cmd[@]}" "$@" > /dev/null 2>> "$work/err.log"
}
token() { if [ "$1" = keyless ]; then TOKEN=$($helper token "$oidc_url" "$oidc_token"); else TOKEN=; fi; }

# CPU ticks (user + system) a process has used so far (0 when there is none), and the machine's busy
# ticks on all cores (everything but idle and iowait).
ticks() { if [ -n "$1" ] && [ -r "/proc/$1/stat" ]; then sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; else echo 0; fi; }
busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
clk=$(getconf CLK_TCK)
requests() { grep -cE '"(GET|HEAD|PUT|POST|PATCH|DELETE) /' "$work/registry.log" || true; }
request_lines() { grep -E '"(GET|HEAD|PUT|POST|PATCH|DELETE) /' "$work/registry.log" |
  sed -E 's/.*"(GET|HEAD|PUT|POST|PATCH|DELETE) ([^ ?]*)[^"]*" ([0-9]{3}) .*/\1 \2 \3/; s/sha256[:-][0-9a-f]{64}/<digest>/g;
    s#/uploads/[^ ]+#/uploads/<id>#; s#^([A-Z]+) /v2/bench/[^/]+/#\1 /v2/<repo>/#' | sed -n "$1,\$p"; }
now_ns() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) print "-"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# One measured run: TOOL MODE N -> "wall_s requests peak_kb tool_cpu_s registry_cpu_s proxy_cpu_s
# sigstore_cpu_s machine_cpu_s" (and checks every image got one signature). The wall time and the CPU of a
# cosign loop are the sums over its processes (the token fetches between them left out).
measure() {
  local tool=$1 mode=$2 n=$3 refs r before after wall=0 kb=0 t0 t1 k u sy layers
  local cpu=0 reg=0 tox=0 sg=0 mach=0 c0 c1
  mapfile -t refs < <($helper push "$REGISTRY" "$REG" "bench/$tool-$mode-$n-$RANDOM$RANDOM" "$n")
  before=$(requests)
  fail() { echo "$tool $mode failed:"; tail -5 "$work/err.log"; exit 1; }
  # one_run REFS…: one process, its wall time, peak RSS and CPU added to the totals; the others' CPU too.
  one_run() {
    c0="$(ticks "$REG_PID") $(ticks "$TOXI_PID") $(ticks "$SIG_PID") $(busy)"
    t0=$(now_ns)
    sign "$tool" "$mode" "$@" || fail
    t1=$(now_ns)
    c1="$(ticks "$REG_PID") $(ticks "$TOXI_PID") $(ticks "$SIG_PID") $(busy)"
    read -r k u sy < "$work/rss"
    wall=$(( wall + t1 - t0 )); [ "$k" -gt "$kb" ] && kb=$k
    cpu=$(awk -v a="$cpu" -v u="$u" -v s="$sy" 'BEGIN {printf "%.2f", a + u + s}')
    read -r reg tox sg mach < <(awk -v c0="$c0" -v c1="$c1" -v reg="$reg" -v tox="$tox" -v sg="$sg" -v m="$mach" 'BEGIN {
      split(c0, a, " "); split(c1, b, " ")
      print reg + b[1] - a[1], tox + b[2] - a[2], sg + b[3] - a[3], m + b[4] - a[4] }')
  }
  if [[ $tool == ferrosign* ]]; then
    token "$mode"; one_run "${refs[@]}"
  else
    for r in "${refs[@]}"; do token "$mode"; one_run "$r"; done
  fi
  after=$(requests)
  if [ "$n" = 1 ] && [ ! -s "$out/sequence-$tool-$mode.txt" ]; then
    request_lines "$(( before + 1 ))" > "$out/sequence-$tool-$mode.txt"
  fi
  # ferrosign (but with --signature-format bundle) and cosign v2 write the `.sig` layout: exactly one
  # signature per image.
  if [ "$tool" != cosign-v3 ] && [ "$tool" != ferrosign-bundle ]; then
    for r in "${refs[@]}"; do
      layers=$($helper layers "$REGISTRY" "$r")
      [ "$layers" = 1 ] || { echo "$tool left $layers signatures on $r"; exit 1; }
    done
  fi
  echo "$(awk -v w="$wall" 'BEGIN {printf "%.3f", w / 1e9}') $(( after - before )) $kb $cpu" \
    "$(awk -v r="$reg" -v t="$tox" -v s="$sg" -v m="$mach" -v c="$clk" 'BEGIN {printf "%.2f %.2f %.2f %.2f", r / c, t / c, s / c, m / c}')"
}

printf 'rtt_ms\tmode\tn\ttool\twall_s\ts_per_image\trequests_per_image\tpeak_rss_mib\truns\ttool_cpu_s\tregistry_cpu_s\tproxy_cpu_s\tsigstore_cpu_s\tmachine_cpu_s\tregistry_ms_per_request\n' > "$out/results.tsv"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== $label: $bin, registry $registry, load average $load_start" >&2
for rtt in $rtts; do
  set_rtt "$rtt"
  for mode in $modes; do
    for n in $sizes; do
      rr=$rounds; [ "$n" -gt 10 ] && rr=1
      declare -A walls=() reqs=() rss=() cpus=()
      read -ra tl <<< "$tools"
      if [ -n "$cosign_sizes" ] && [[ " $cosign_sizes " != *" $n "* ]]; then tl=(ferrosign); fi
      for round in $(seq "$rr"); do
        for i in $(seq 0 $(( ${#tl[@]} - 1 ))); do
          tool=${tl[$(( (i + round) % ${#tl[@]} ))]}
          measure "$tool" "$mode" "$n" > "$work/m"
          read -r w q k c_tool c_reg c_tox c_sig c_mach < "$work/m"
          walls[$tool]+="$w "; reqs[$tool]=$q
          [ "${rss[$tool]:-0}" -lt "$k" ] && rss[$tool]=$k
          # The CPU figures of the round whose wall time is the median are reported with it.
          cpus[$tool]+="$w:$c_tool:$c_reg:$c_tox:$c_sig:$c_mach "
          echo "   rtt=$rtt $mode N=$n round $round $tool: ${w}s, $q requests, $(( k / 1024 )) MiB;" \
            "CPU s: $tool $c_tool, registry $c_reg, toxiproxy $c_tox, sigstore $c_sig, machine $c_mach" >&2
        done
      done
      for tool in "${tl[@]}"; do
        w=$(tr ' ' '\n' <<< "${walls[$tool]}" | grep . | median)
        # the round nearest the median wall time (with an even count the median lies between two)
        c=$(tr ' ' '\n' <<< "${cpus[$tool]}" | grep . | awk -F: -v w="$w" '{d = $1 - w; if (d < 0) d = -d} NR == 1 || d < best {best = d; line = $0} END {print line}')
        IFS=: read -r _ c_tool c_reg c_tox c_sig c_mach <<< "$c"
        awk -v rtt="$rtt" -v mode="$mode" -v n="$n" -v tool="$tool" -v w="$w" -v q="${reqs[$tool]}" -v k="${rss[$tool]}" -v runs="$rr" \
          -v ct="$c_tool" -v cr="$c_reg" -v cx="$c_tox" -v cs="$c_sig" -v cm="$c_mach" \
          'BEGIN {printf "%s\t%s\t%d\t%s\t%.2f\t%.3f\t%.1f\t%.1f\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%s\n", rtt, mode, n, tool, w, w / n, q / n, k / 1024, runs,
            ct, cr, cx, cs, cm, (q > 0 ? sprintf("%.2f", 1000 * cr / q) : "-")}' >> "$out/results.tsv"
      done
      unset walls reqs rss cpus
    done
  done
done
set_rtt 0

# Start to first connection (key mode, no latency: what the process does before it talks to anyone).
first_cmd() {
  local ref="{}/bench/first@sha256:$(printf '0%.0s' $(seq 64))"
  case $1 in
    ferrosign*) echo "$bin sign --key cosign.key --tlog-upload=false --allow-insecure-registry $ref" ;;
    cosign-v2) echo "$FERROSIGN_COSIGN_V2 sign -y --key cosign.key --tlog-upload=false --allow-http-registry $ref" ;;
    cosign-v3) echo "$FERROSIGN_COSIGN_V3 sign -y --key cosign.key --tlog-upload=false --use-signing-config=false --allow-http-registry $ref" ;;
  esac
}
declare -A first=()
for round in 1 2 3 4 5; do
  for tool in $tools; do
    # shellcheck disable=SC2046  # the command is split on purpose
    first[$tool]+="$($helper first-request $(first_cmd "$tool")) "
  done
done

# Sizes: ferrosign's binary and container image (FROM scratch: the static binary + the CA bundle, as the
# Dockerfile builds it; compressed = gzip -6 of each file, about what a registry stores), cosign's binaries.
ca=/etc/ssl/certs/ca-certificates.crt
gz() { gzip -6 -c "$1" | wc -c; }
mib() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }
fs_size=$(stat -c %s "$bin")
img_size=$(( fs_size + $(stat -c %s "$ca") ))
img_gz=$(( $(gz "$bin") + $(gz "$ca") ))

# The table and the targets.
val() { awk -F'\t' -v r="$1" -v m="$2" -v n="$3" -v t="$4" -v c="$5" \
  'NR > 1 && $1 == r && $2 == m && $3 == n && $4 == t {print $c}' "$out/results.tsv"; }
wall_ms() { local s; s=$(val "$1" "$2" "$3" "$4" 6); if [ -n "$s" ]; then awk -v s="$s" -v n="$3" 'BEGIN {printf "%.3f", s * n}'; fi; }
verdict() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "") print "not measured"; else if (a + 0 <= b + 0) print "met"; else print "NOT met" }'; }
{
  echo "# Benchmark: $label"
  echo
  echo "- date: $(date -u +%FT%TZ); machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average at the start: $load_start, at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- ferrosign: \`$("$bin" --version)\` ($bin); cosign $COSIGN_V2_VERSION and $COSIGN_V3_VERSION (go install)"
  echo "- registry: $reg_version behind toxiproxy $("$FERROSIGN_TOXIPROXY" -version 2>/dev/null | head -1)"
  echo "- command: \`bash bench/run.sh --registry $registry --n \"$sizes\"${cosign_sizes:+ --cosign-n \"$cosign_sizes\"} --rtt \"$rtts\" --modes \"$modes\" --rounds $rounds${fs_args:+ --fs-args \"$fs_args\"}\`"
  echo
  echo "CPU s: user + system seconds during the signing (the round nearest the median): the signing tool's"
  echo "processes, the registry, toxiproxy, the test Sigstore instance, and the whole machine (2 cores give"
  echo "2 s of CPU per wall second; other users' work included); reg. ms/req: the registry's CPU per request."
  echo
  echo "| RTT | mode | N | tool | wall s | s/image | requests/image | peak RSS MiB | runs | vs cosign v2 | vs cosign v3 | CPU s tool | CPU s registry | CPU s toxiproxy | CPU s sigstore | CPU s machine | reg. ms/req |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  tail -n +2 "$out/results.tsv" | while IFS=$'\t' read -r rtt mode n tool w s q k runs ct cr cx cs cm rq; do
    c2=$(val "$rtt" "$mode" "$n" cosign-v2 5) c3=$(val "$rtt" "$mode" "$n" cosign-v3 5)
    r2=$(awk -v a="$w" -v b="$c2" 'BEGIN {if (b > 0) printf "%.2f×", a / b; else print "-"}')
    r3=$(awk -v a="$w" -v b="$c3" 'BEGIN {if (b > 0) printf "%.2f×", a / b; else print "-"}')
    echo "| $rtt ms | $mode | $n | $tool | $w | $s | $q | $k | $runs | $r2 | $r3 | $ct | $cr | $cx | $cs | $cm | $rq |"
  done
  echo
  echo "Start to first connection (key mode, median of 5): $(for t in $tools; do printf '%s %s s; ' "$t" "$(tr ' ' '\n' <<< "${first[$t]}" | grep . | median)"; done)"
  echo
  echo "Sizes: ferrosign static binary $(mib "$fs_size") MiB; container image (scratch + binary + CA bundle) $(mib "$img_size") MiB, $(mib "$img_gz") MiB compressed; cosign v2 binary $(mib "$(stat -c %s "$FERROSIGN_COSIGN_V2")") MiB, cosign v3 binary $(mib "$(stat -c %s "$FERROSIGN_COSIGN_V3")") MiB (go install builds, not stripped)"
  echo
  echo "## Targets (issue 15, at 20 ms RTT, registry: $registry)"
  echo
  echo "| target | measured | bound | verdict |"
  echo "|---|---|---|---|"
  for mode in key keyless; do
    # Wall times in ms precision (s/image × N), so that a verdict is not decided by rounding to 10 ms.
    f1=$(wall_ms 20 "$mode" 1 ferrosign)
    for c in cosign-v2 cosign-v3; do
      c1=$(wall_ms 20 "$mode" 1 "$c")
      b=$(awk -v c="$c1" 'BEGIN {if (c != "") printf "%.3f", 0.8 * c}')
      echo "| 1 image, $mode: ferrosign ≤ 0.8× $c | ${f1:--} s | ${b:--} s | $(verdict "$f1" "$b") |"
    done
    f100=$(wall_ms 20 "$mode" 100 ferrosign)
    b=$(awk -v c="$f1" 'BEGIN {if (c != "") printf "%.3f", 3 * c}')
    echo "| 100 images, $mode, one process ≤ 3× 1 image | ${f100:--} s | ${b:--} s | $(verdict "$f100" "$b") |"
  done
  # The bound is per layout (a first signature in one layout): measured one layout at a time with the
  # tools ferrosign-legacy and ferrosign-bundle; the default format writes both, so its bound is twice.
  for n in 1 100; do
    for t in ferrosign-legacy ferrosign-bundle; do
      q=$(val 20 key "$n" "$t" 7)
      [ -n "$q" ] || continue
      echo "| requests per image, key mode, N = $n, $t (one layout) ≤ 7 | $q | 7 | $(verdict "$q" 7) |"
    done
    q=$(val 20 key "$n" ferrosign 7)
    echo "| requests per image, key mode, N = $n, default format (both layouts) ≤ 2 × 7 | ${q:--} | 14 | $(verdict "$q" 14) |"
  done
  k=$(val 20 keyless 100 ferrosign 8)
  echo "| peak RSS, 100 images, keyless ≤ 40 MB | ${k:--} MiB | 38.1 MiB | $(verdict "$k" 38.1) |"
  k=$(val 20 key 100 ferrosign 8)
  echo "| peak RSS, 100 images, key ≤ 64 MiB (scrypt) + 16 MB | ${k:--} MiB | 79.3 MiB | $(verdict "$k" 79.3) |"
  echo
  echo "Registry requests for one image (from the registry's access log; \`<digest>\` stands for any digest):"
  for f in "$out"/sequence-*.txt; do
    [ -s "$f" ] || continue
    echo "- $(basename "$f" .txt | sed 's/^sequence-//'): $(awk '{printf "%s%s %s %s", (NR > 1 ? ", " : ""), $1, $2, $3}' "$f")"
  done
} > "$out/results.md"
cat "$out/results.md"
