#!/usr/bin/env bash
# End to end on a real network: a NATed node discovers real coturn servers
# through the UDP overlay of examples/udp_overlay and uses them, and learns
# its NAT's mapping behaviour from the addresses the peers saw it at.
#
#   bash scripts/e2e-nat.sh                  # as root: network namespaces + NAT,
#                                            # both router variants (--nat=both)
#   bash scripts/e2e-nat.sh --nat=dependent  # one variant: independent|dependent|both
#   bash scripts/e2e-nat.sh --loopback       # everything on 127.0.0.1, no NAT
#   bash scripts/e2e-nat.sh --topology-only  # the network and coturn alone,
#                                            # checked with turnutils_*
#
# Router variants (--nat), run one after the other on the same overlay, the
# router's nft table swapped in between:
#
#   independent  `masquerade`: Linux keeps the node's source port, so every
#                peer sees 172.31.0.1:<node port>: endpoint-independent
#                mapping (RFC 4787 §4.1); STUN is enough.
#   dependent    `masquerade fully-random`: a random port per connection,
#                so per destination: endpoint-dependent ("symmetric")
#                mapping; a STUN reflexive address is good towards its STUN
#                server only, and the node needs a TURN relay.
#
# Each variant's node binds another port (independent 6084, dependent 6085)
# so that no conntrack entry of an earlier run decides its mapping.
#
# Network (netns variant, every address is a host this script creates):
#
#   ns e2enat-pub   bridge br0: the "public" segment 172.31.0.0/24
#   ns e2enat-p0..9 overlay peers 172.31.0.11..20, UDP 6084; the willing
#                   ones (p1 p3 p5 p7) run a coturn on their address, port 3478
#   ns e2enat-atk   attacker 172.31.0.100
#   ns e2enat-rtr   router: eth0 172.31.0.1 (public), eth1 10.77.0.1 (private),
#                   nft table `ip e2enat`: masquerade [fully-random]
#                   10.77.0.0/24 out of eth0
#   ns e2enat-node  the NATed node 10.77.0.2, default route via 10.77.0.1
#
# Run: coturns first (each checked with turnutils_stunclient from the node's
# namespace: it must see the router's address), peers in a bootstrap chain
# (p0 <- p1 <- ...), then per variant the node via p0. At the node's
# `waiting` the first running coturn it printed as `discovered` is stopped
# (and started again before the next variant); at `attack-window`
# `udp_overlay attack --target p0` runs from e2enat-atk between two VmRSS
# readings of every peer.
#
# Assertions (notes/udp_contract.md): discovered >= 1; stun_ok >= discovered
# (nothing is stopped before the STUN phase); reflexive IP = 172.31.0.1
# (loopback: 127.0.0.1); nated = true (loopback: false); turn_relay in a
# coturn's relay range; iterative_discovered >= 1; dead_dropped = true;
# garbage_survived = true; the node exits 0; every `discovered` address is
# one of the coturns; every peer survives the attack and exits 0 on SIGTERM
# printing `peer <id> stopped`; nothing is left behind. Per variant:
# independent: mapping = independent, observers >= 3, relied_on = stun;
# dependent: mapping = dependent, observers >= 3, turn_relay set,
# relied_on = turn; loopback (every peer at 127.0.0.1, one observer
# address): mapping is not dependent (it comes out unknown).
#
# Stdout: per variant the attack's VmRSS table, then the nodes' `e2e:`
# lines, one per variant in the order run, last. Stderr: progress, the
# node's stdout as `node[VARIANT]| ...`, and one line per failed assertion.
# Exit status 0 iff every assertion held.
#
# Needs: cargo, iproute2, nftables, coturn (turnserver, turnutils_*).
# Environment: E2E_GAP (node's --rounds-gap, s), E2E_FLOOD (requests in the
# flood), E2E_TIMEOUT (s for the whole node run), E2E_LOG (peers' --log),
# E2E_KEEP=1 (keep the logs in /tmp/e2enat.* also after a passing run).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PREFIX=e2enat
GAP="${E2E_GAP:-6}"
FLOOD="${E2E_FLOOD:-10000}"
TIMEOUT="${E2E_TIMEOUT:-240}"
PEER_LOG="${E2E_LOG:-info}"

NPEERS=10
WILLING=(1 3 5 7)
TURN_USER=e2e
TURN_PASS=e2e-pass
REALM=e2e.test
ATTACK_TARGET=0 # the node's bootstrap peer: the fresh discovery goes through it

PUB_NET=172.31.0
ROUTER_PUB=172.31.0.1
ROUTER_PRIV=10.77.0.1
NODE_IP=10.77.0.2
ATTACKER_IP=172.31.0.100

MODE=netns
NAT=both
usage() { echo "usage: $0 [--loopback | --topology-only] [--nat=independent|dependent|both]" >&2; }
for arg in "$@"; do
  case "$arg" in
    --loopback) MODE=loopback ;;
    --topology-only) MODE=topology ;;
    --nat=independent | --nat=dependent | --nat=both) NAT="${arg#--nat=}" ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      usage
      exit 2
      ;;
  esac
done

log() { printf 'e2e-nat: %s\n' "$*" >&2; }
FAILS=()
VARIANT="" # the router variant being run, named in failures
fail() {
  local msg="$*"
  [[ -z $VARIANT ]] || msg="[$VARIANT] $msg"
  FAILS+=("$msg")
  printf 'e2e-nat: FAIL: %s\n' "$msg" >&2
}

# One run at a time: namespace names and the leftover sweep are global.
# The lock is on this script itself, so no lock file is left behind.
exec {LOCK_FD}<"$0"
if ! flock -n "$LOCK_FD"; then
  log "another run of $0 is in progress"
  exit 1
fi

# ---------------------------------------------------------------- leftovers
# Processes of an earlier run: everything in our namespaces, and (loopback)
# everything whose command line names one of our run directories.
our_namespaces() { ip netns list 2>/dev/null | awk -v p="^$PREFIX-" '$1 ~ p { print $1 }'; }

# pids_matching ERE: pids whose command line (arguments joined by spaces)
# matches ERE, like `pgrep -f` (which a minimal image may lack).
pids_matching() {
  local d cmd
  for d in /proc/[0-9]*; do
    [[ ${d#/proc/} != "$$" ]] || continue
    cmd="$(tr '\0' ' ' 2>/dev/null <"$d/cmdline")" || continue  # 2> before <: a gone process is no error
    [[ $cmd =~ $1 ]] && printf '%s\n' "${d#/proc/}"
  done
  return 0
}

sweep_leftovers() {
  local ns pid pids=()
  for ns in $(our_namespaces); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do pids+=("$pid"); done
  done
  # Our binary runs from /tmp/e2enat.*/; our turnservers name it in --pidfile.
  for pid in $(pids_matching "^/tmp/$PREFIX\.[A-Za-z0-9]+/|--pidfile /tmp/$PREFIX\.[A-Za-z0-9]+/"); do
    pids+=("$pid")
  done
  if ((${#pids[@]})); then
    mapfile -t pids < <(printf '%s\n' "${pids[@]}" | sort -un)
    log "killing ${#pids[@]} leftover process(es) of an earlier run: ${pids[*]}"
    kill -TERM "${pids[@]}" 2>/dev/null || true
    sleep 1
    kill -KILL "${pids[@]}" 2>/dev/null || true
  fi
  for ns in $(our_namespaces); do
    log "deleting leftover namespace $ns"
    ip netns del "$ns" || true
  done
  rm -rf "/tmp/$PREFIX".*/ 2>/dev/null || true
}

# ------------------------------------------------------------ mode decision
if [[ $MODE != loopback ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    log "not root: network namespaces unavailable, running the loopback variant (127.0.0.1, no NAT)"
    MODE=loopback
  else
    sweep_leftovers
    if ! ip netns add "$PREFIX-probe" 2>/dev/null; then
      log "ip netns add failed: network namespaces unavailable, running the loopback variant (127.0.0.1, no NAT)"
      MODE=loopback
    else
      ip netns del "$PREFIX-probe"
    fi
  fi
else
  sweep_leftovers
fi
if [[ $MODE == topology && $(id -u) -ne 0 ]]; then
  log "--topology-only needs root and network namespaces"
  exit 1
fi

# ------------------------------------------------------------------ layout
# peer i: overlay address, coturn address, relay port range.
PEER_ADDR=()
PEER_NS=()
STUN_ADDR=() # index -> coturn ip:port (willing peers only)
RELAY_MIN=()
RELAY_MAX=()
is_willing() {
  local w
  for w in "${WILLING[@]}"; do [[ $w == "$1" ]] && return 0; done
  return 1
}
for ((i = 0; i < NPEERS; i++)); do
  if [[ $MODE == loopback ]]; then
    PEER_ADDR[i]="127.0.0.1:$((36084 + i))"
    PEER_NS[i]=""
    is_willing "$i" && STUN_ADDR[i]="127.0.0.1:$((34780 + 10 * i))"
  else
    PEER_ADDR[i]="$PUB_NET.$((11 + i)):6084"
    PEER_NS[i]="$PREFIX-p$i"
    is_willing "$i" && STUN_ADDR[i]="$PUB_NET.$((11 + i)):3478"
  fi
  RELAY_MIN[i]=$((50000 + 100 * i))
  RELAY_MAX[i]=$((50000 + 100 * i + 99))
done
if [[ $MODE == loopback ]]; then
  NODE_NS=""
  ATK_NS=""
  EXPECT_REFLEXIVE_IP=127.0.0.1
  EXPECT_NATED=false
  VARIANTS=(loopback)
else
  NODE_NS="$PREFIX-node"
  ATK_NS="$PREFIX-atk"
  EXPECT_REFLEXIVE_IP="$ROUTER_PUB"
  EXPECT_NATED=true
  if [[ $NAT == both ]]; then VARIANTS=(independent dependent); else VARIANTS=("$NAT"); fi
fi

# node_bind VARIANT: the node's address in that variant.
node_bind() {
  case "$1" in
    loopback) echo "127.0.0.1:36184" ;;
    independent) echo "$NODE_IP:6084" ;;
    dependent) echo "$NODE_IP:6085" ;;
  esac
}

# ------------------------------------------------------------ processes
RUN=""
PIDS=()       # every process this script started and has not reaped
TURN_PID=()   # peer index -> turnserver pid
PEER_PID=()   # peer index -> udp_overlay peer pid
NODE_PID=""
CLEANED=""
LAST_PID=""

# run_bg NS OUT ERR CMD...: starts CMD in namespace NS (none: here) in the
# background; its pid (the command itself: `ip netns exec` execs) in LAST_PID.
run_bg() {
  local ns="$1" out="$2" err="$3"
  shift 3
  # The lock fd is not inherited: a leftover child must not hold the lock.
  if [[ -n $ns ]]; then
    ip netns exec "$ns" "$@" >"$out" 2>"$err" </dev/null {LOCK_FD}<&- &
  else
    "$@" >"$out" 2>"$err" </dev/null {LOCK_FD}<&- &
  fi
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}

# in_ns NS CMD...: runs CMD in the foreground in namespace NS (none: here).
in_ns() {
  local ns="$1"
  shift
  if [[ -n $ns ]]; then ip netns exec "$ns" "$@"; else "$@"; fi
}

alive() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [[ ${stat:0:1} != Z ]]
}

# stop_pid PID [SECONDS]: SIGTERM, then SIGKILL after SECONDS; reaps it and
# sets STOP_RC to its exit status.
STOP_RC=0
stop_pid() {
  local pid="$1" grace="${2:-5}" t=0
  kill -TERM "$pid" 2>/dev/null || true
  while alive "$pid" && ((t < grace * 10)); do
    sleep 0.1
    t=$((t + 1))
  done
  if alive "$pid"; then
    log "pid $pid ignored SIGTERM for ${grace}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  STOP_RC=0
  wait "$pid" 2>/dev/null || STOP_RC=$?
  forget_pid "$pid"
}

forget_pid() {
  local p keep=()
  for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# teardown [RC]: RC (the script's exit status) non-zero keeps the logs.
teardown() {
  local rc="${1:-0}"
  [[ -n $CLEANED ]] && return 0
  CLEANED=1
  set +e
  local pid ns
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do stop_pid "$pid" 5; done
  if [[ $MODE != loopback ]]; then
    ip netns exec "$PREFIX-rtr" nft delete table ip "$PREFIX" 2>/dev/null
    for ns in $(our_namespaces); do ip netns del "$ns"; done
  fi
  # Nothing of ours may be left behind.
  if [[ -n $RUN ]]; then
    local left
    left="$(pids_matching "$RUN/" | tr '\n' ' ')"
    [[ -z $left ]] || fail "processes left behind: $left"
  fi
  [[ -z $(our_namespaces) ]] || fail "namespaces left behind: $(our_namespaces | tr '\n' ' ')"
  if [[ -n $RUN ]]; then
    if ((${#FAILS[@]} || rc)) || [[ -n ${E2E_KEEP:-} ]]; then
      log "logs kept in $RUN (the next run deletes them)"
    else
      rm -rf "$RUN"
    fi
  fi
  set -e
}

on_exit() {
  local rc=$?
  teardown "$rc"
  ((${#FAILS[@]} == 0)) || ((rc != 0)) || rc=1
  exit "$rc"
}
on_signal() {
  log "interrupted by SIG$1: tearing down"
  teardown 1
  trap - EXIT
  exit $((128 + $2))
}
trap on_exit EXIT
trap 'on_signal INT 2' INT
trap 'on_signal TERM 15' TERM

# ------------------------------------------------------------------- build
BIN=""
if [[ $MODE != topology ]]; then
  log "building: cargo build --release --example udp_overlay"
  (cd "$ROOT" && cargo build --release --example udp_overlay) >&2
  BUILT="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/udp_overlay"
  [[ -x $BUILT ]] || {
    log "no binary at $BUILT"
    exit 1
  }
fi

RUN="$(mktemp -d "/tmp/$PREFIX.XXXXXX")"
: >"$RUN/turnserver.conf" # keeps turnserver away from /etc/turnserver.conf
if [[ $MODE != topology ]]; then
  # A private copy: its path names this run, so `pgrep -f "$RUN/"` (or pids_matching) finds
  # exactly our processes (and never somebody else's udp_overlay).
  BIN="$RUN/udp_overlay"
  cp "$BUILT" "$BIN"
fi
log "mode: $MODE, run directory $RUN"

# ----------------------------------------------------------------- network
build_network() {
  local pub="$PREFIX-pub" ns i
  ip netns add "$pub"
  ip -n "$pub" link set lo up
  ip -n "$pub" link add br0 type bridge
  ip -n "$pub" link set br0 up

  # attach NS IFNAME ADDR/LEN: a veth from bridge port IFNAME to eth0 in NS.
  attach() {
    ip -n "$pub" link add "$2" type veth peer name eth0 netns "$1"
    ip -n "$pub" link set "$2" master br0 up
    ip -n "$1" addr add "$3" dev eth0
    ip -n "$1" link set eth0 up
    ip -n "$1" link set lo up
  }

  for ((i = 0; i < NPEERS; i++)); do
    ns="${PEER_NS[i]}"
    ip netns add "$ns"
    attach "$ns" "vp$i" "${PEER_ADDR[i]%:*}/24"
  done
  ip netns add "$ATK_NS"
  attach "$ATK_NS" vatk "$ATTACKER_IP/24"

  # Router: public leg on the bridge, private leg to the node.
  local rtr="$PREFIX-rtr"
  ip netns add "$rtr"
  attach "$rtr" vrtr "$ROUTER_PUB/24"
  ip netns add "$NODE_NS"
  ip -n "$rtr" link add eth1 type veth peer name eth0 netns "$NODE_NS"
  ip -n "$rtr" addr add "$ROUTER_PRIV/24" dev eth1
  ip -n "$rtr" link set eth1 up
  ip -n "$NODE_NS" addr add "$NODE_IP/24" dev eth0
  ip -n "$NODE_NS" link set eth0 up
  ip -n "$NODE_NS" link set lo up
  ip -n "$NODE_NS" route add default via "$ROUTER_PRIV"
  ip netns exec "$rtr" sysctl -qw net.ipv4.ip_forward=1
  set_nat "${VARIANTS[0]}"
  log "network: bridge 172.31.0.0/24 in $pub; peers ${PEER_ADDR[0]%:*}..${PEER_ADDR[NPEERS - 1]%:*};" \
    "router $ROUTER_PUB / $ROUTER_PRIV; node $NODE_IP; attacker $ATTACKER_IP"
}

# set_nat VARIANT: the router's nft table for that variant, replacing the one
# in place in a single transaction (declaring the table first lets `delete`
# succeed when there is none yet). `masquerade` keeps the source port when it
# is free: endpoint-independent mapping; `fully-random` picks a random source
# port per connection, that is per destination: endpoint-dependent. Peers
# have no route to 10.77.0.0/24: they only ever see the router.
NAT_SET=""
set_nat() {
  local how
  [[ $1 != "$NAT_SET" ]] || return 0
  how="$(nat_rule "$1")"
  ip netns exec "$PREFIX-rtr" nft -f - <<EOF
table ip $PREFIX
delete table ip $PREFIX
table ip $PREFIX {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "eth0" ip saddr 10.77.0.0/24 $how
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "eth1" oifname "eth0" ip saddr 10.77.0.0/24 accept
  }
}
EOF
  NAT_SET="$1"
  log "router: nft $how (mapping expected: $1)"
}

nat_rule() { if [[ $1 == dependent ]]; then echo "masquerade fully-random"; else echo masquerade; fi; }

start_turnservers() {
  local i
  for i in "${WILLING[@]}"; do start_turnserver "$i"; done
}

# start_turnserver I: peer I's coturn, its pid in TURN_PID[I].
start_turnserver() {
  local i="$1" ip port extra=()
  [[ $MODE == loopback ]] && extra=(--allow-loopback-peers)
  ip="${STUN_ADDR[i]%:*}"
  port="${STUN_ADDR[i]##*:}"
  run_bg "${PEER_NS[i]}" "$RUN/turn$i.out" "$RUN/turn$i.err" \
    turnserver -c "$RUN/turnserver.conf" \
    --lt-cred-mech --user "$TURN_USER:$TURN_PASS" --realm "$REALM" \
    --no-tls --no-dtls --no-cli \
    --listening-ip "$ip" --listening-port "$port" --relay-ip "$ip" \
    --min-port "${RELAY_MIN[i]}" --max-port "${RELAY_MAX[i]}" \
    --pidfile "$RUN/turn$i.pid" --log-file "$RUN/turn$i.log" --simple-log \
    --no-stdout-log --db "$RUN/turn$i.db" "${extra[@]}"
  TURN_PID[i]="$LAST_PID"
}

# restart_stopped_turnservers: the coturns an earlier variant stopped, started
# again and checked, so that every variant starts with all of them up.
restart_stopped_turnservers() {
  local i refl
  for i in "${WILLING[@]}"; do
    alive "${TURN_PID[i]}" && continue
    start_turnserver "$i"
    if refl="$(stun_probe "$i")"; then
      log "coturn ${STUN_ADDR[i]} started again (pid ${TURN_PID[i]}): reflexive $refl"
    else
      fail "coturn ${STUN_ADDR[i]} does not answer after its restart (log: $RUN/turn$i.log)"
    fi
  done
}

# stun_probe I: a STUN Binding from the node's namespace to peer I's coturn;
# prints the reflexive ip:port. Retries while coturn starts.
stun_probe() {
  local i="$1"
  local t out ip="${STUN_ADDR[i]%:*}" port="${STUN_ADDR[i]##*:}"
  for ((t = 0; t < 30; t++)); do
    out="$(in_ns "$NODE_NS" timeout 2 turnutils_stunclient -p "$port" "$ip" 2>/dev/null || true)"
    if [[ $out =~ UDP\ reflexive\ addr:\ ([0-9.]+:[0-9]+) ]]; then
      printf '%s\n' "${BASH_REMATCH[1]}"
      return 0
    fi
    alive "${TURN_PID[i]}" || return 1
    sleep 0.2
  done
  return 1
}

check_servers() {
  local i refl
  for i in "${WILLING[@]}"; do
    if refl="$(stun_probe "$i")"; then
      log "coturn ${STUN_ADDR[i]} (pid ${TURN_PID[i]}) answers from the node's side: reflexive $refl"
      [[ ${refl%:*} == "$EXPECT_REFLEXIVE_IP" ]] ||
        fail "coturn ${STUN_ADDR[i]} saw the node at $refl, expected $EXPECT_REFLEXIVE_IP"
    else
      fail "coturn ${STUN_ADDR[i]} does not answer STUN from the node's side (log: $RUN/turn$i.log)"
    fi
  done
}

# The topology alone: NAT, coturn reachable, a TURN allocation through the NAT.
topology_only() {
  local i="${WILLING[0]}" out ip
  ip="${STUN_ADDR[i]%:*}"
  # -y: two clients relay to each other through their allocations (uclient
  # learns the realm from the server; its -r is the peer port).
  if out="$(in_ns "$NODE_NS" timeout 10 turnutils_uclient -u "$TURN_USER" -w "$TURN_PASS" \
    -p "${STUN_ADDR[i]##*:}" -n 1 -m 1 -l 64 -y "$ip" 2>&1)" &&
    [[ $out == *"Total lost packets 0 "* && $out =~ tot_recv_msgs=[1-9] ]]; then
    log "TURN allocations through the NAT on ${STUN_ADDR[i]} relay data (turnutils_uclient -y)"
  else
    fail "turnutils_uclient could not allocate on ${STUN_ADDR[i]}: $(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')"
  fi
  # The public side has no way to the private segment: no route, and the
  # router's forward chain drops what is not a reply.
  if ip -n "${PEER_NS[0]}" route get "$NODE_IP" >/dev/null 2>&1; then
    fail "a public peer has a route to $NODE_IP: no NAT"
  else
    log "a public peer has no route to $NODE_IP (only the router's $ROUTER_PUB is visible)"
  fi
}

# wait_line FILE REGEX PID SECONDS: waits for a line in FILE.
wait_line() {
  local file="$1" re="$2" pid="$3" t=0
  while ((t < $4 * 10)); do
    grep -Eq -- "$re" "$file" 2>/dev/null && return 0
    alive "$pid" || return 1
    sleep 0.1
    t=$((t + 1))
  done
  return 1
}

start_peers() {
  local i args
  for ((i = 0; i < NPEERS; i++)); do
    args=(peer --bind "${PEER_ADDR[i]}" --log "$PEER_LOG")
    ((i > 0)) && args+=(--bootstrap "${PEER_ADDR[i - 1]}")
    is_willing "$i" && args+=(--willing --stun-server "${STUN_ADDR[i]}" --turn)
    run_bg "${PEER_NS[i]}" "$RUN/p$i.out" "$RUN/p$i.log" "$BIN" "${args[@]}"
    PEER_PID[i]="$LAST_PID"
    if ! wait_line "$RUN/p$i.out" "^ready " "$LAST_PID" 20; then
      fail "peer p$i (${PEER_ADDR[i]}) printed no 'ready' line (stderr tail: $(tail -n 3 "$RUN/p$i.log" | tr '\n' ' '))"
      return 1
    fi
    [[ $(head -n 1 "$RUN/p$i.out") == "ready ${PEER_ADDR[i]}" ]] ||
      fail "peer p$i: first stdout line '$(head -n 1 "$RUN/p$i.out")', contract says 'ready ${PEER_ADDR[i]}'"
  done
  log "$NPEERS peers ready (bootstrap chain p0 <- p1 <- ... <- p$((NPEERS - 1))), willing: ${WILLING[*]/#/p}"
}

vmrss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo "?"; }

# ---------------------------------------------------- following the node
DISCOVERED=()
STOPPED_ADDR=""
E2E_LINE=""
ATTACKED=""

turn_index_of() {
  local i
  for i in "${WILLING[@]}"; do
    [[ ${STUN_ADDR[i]} == "$1" ]] && {
      echo "$i"
      return 0
    }
  done
  return 1
}

on_waiting() {
  local a i
  for a in "${DISCOVERED[@]}"; do
    if i="$(turn_index_of "$a")" && alive "${TURN_PID[i]}"; then
      log "waiting: stopping coturn $a (pid ${TURN_PID[i]}, peer p$i)"
      stop_pid "${TURN_PID[i]}" 5
      STOPPED_ADDR="$a"
      return 0
    fi
  done
  fail "at 'waiting': no discovered address is a running coturn (discovered: ${DISCOVERED[*]:-none})"
}

on_attack_window() {
  local i target="${PEER_ADDR[ATTACK_TARGET]}" before=() after=() rc=0 pid
  for ((i = 0; i < NPEERS; i++)); do before[i]="$(vmrss "${PEER_PID[i]}")"; done
  log "attack-window: udp_overlay attack --target $target --flood $FLOOD (from ${ATK_NS:-127.0.0.1})"
  run_bg "$ATK_NS" "$RUN/attack-$VARIANT.out" "$RUN/attack-$VARIANT.err" timeout 60 "$BIN" attack --target "$target" --flood "$FLOOD"
  pid="$LAST_PID"
  wait "$pid" || rc=$?
  forget_pid "$pid"
  sed 's/^/attack| /' "$RUN/attack-$VARIANT.out" >&2
  ((rc == 0)) || fail "attack exited with $rc (stderr tail: $(tail -n 3 "$RUN/attack-$VARIANT.err" | tr '\n' ' '))"
  [[ -s $RUN/attack-$VARIANT.out ]] || fail "attack printed nothing on stdout (contract: one line per kind)"
  sleep 1 # let the target drain its socket
  for ((i = 0; i < NPEERS; i++)); do after[i]="$(vmrss "${PEER_PID[i]}")"; done
  for ((i = 0; i < NPEERS; i++)); do
    printf 'vmrss nat=%-11s p%-2s %-21s before=%6s kB after=%6s kB%s\n' "$VARIANT" "$i" "${PEER_ADDR[i]}" \
      "${before[i]}" "${after[i]}" "$([[ $i == "$ATTACK_TARGET" ]] && echo "  <- attacked")"
    alive "${PEER_PID[i]}" || fail "peer p$i (${PEER_ADDR[i]}) died during the attack"
  done
  local malformed
  malformed="$(grep -ci malformed "$RUN/p$ATTACK_TARGET.log" || true)"
  log "p$ATTACK_TARGET's log holds $malformed line(s) naming a malformed input (it is alive: $(alive "${PEER_PID[ATTACK_TARGET]}" && echo yes || echo no))"
  ATTACKED=1
}

on_node_line() {
  local line="$1"
  printf 'node[%s]| %s\n' "$VARIANT" "$line" >&2
  case "$line" in
    "discovered "*)
      local a="${line#discovered }" i
      if i="$(turn_index_of "$a")"; then :; else
        fail "node discovered $a, which is not one of the coturns (${STUN_ADDR[*]})"
      fi
      [[ " ${DISCOVERED[*]} " == *" $a "* ]] || DISCOVERED+=("$a")
      ;;
    waiting) on_waiting ;;
    attack-window) on_attack_window ;;
    "e2e: "*) E2E_LINE="$line" ;;
    *) log "node printed a line the contract does not name: '$line'" ;;
  esac
}

follow_node() {
  local fd line buf="" deadline=$((SECONDS + TIMEOUT)) dead=""
  exec {fd}<"$RUN/node-$VARIANT.out"
  while :; do
    if IFS= read -r line <&"$fd"; then
      on_node_line "$buf$line"
      buf=""
      continue
    fi
    buf+="$line" # a partial line at EOF
    [[ -n $dead ]] && break
    if ! alive "$NODE_PID"; then
      dead=1 # one more pass drains what it wrote last
      continue
    fi
    if ((SECONDS > deadline)); then
      fail "the node did not finish within ${TIMEOUT}s (E2E_TIMEOUT)"
      break
    fi
    sleep 0.1
  done
  [[ -z $buf ]] || on_node_line "$buf"
  exec {fd}<&-
}

# ------------------------------------------------------------- assertions
check_summary() {
  local re='^e2e: discovered=([0-9]+) stun_ok=([0-9]+) reflexive=([^ ]+) nated=(true|false) mapping=(independent|dependent|unknown) observers=([0-9]+) turn_relay=([^ ]+) relied_on=(stun|turn|none) iterative_discovered=([0-9]+) dead_dropped=(true|false) garbage_survived=(true|false)$'
  if [[ -z $E2E_LINE ]]; then
    fail "the node printed no 'e2e:' line (stderr tail: $(tail -n 5 "$RUN/node-$VARIANT.log" | tr '\n' ' '))"
    return
  fi
  if ! [[ $E2E_LINE =~ $re ]]; then
    fail "the 'e2e:' line does not have the contract's form: $E2E_LINE"
    return
  fi
  local discovered="${BASH_REMATCH[1]}" stun_ok="${BASH_REMATCH[2]}" reflexive="${BASH_REMATCH[3]}"
  local nated="${BASH_REMATCH[4]}" mapping="${BASH_REMATCH[5]}" observers="${BASH_REMATCH[6]}"
  local relay="${BASH_REMATCH[7]}" relied_on="${BASH_REMATCH[8]}" iterative="${BASH_REMATCH[9]}"
  local dead_dropped="${BASH_REMATCH[10]}" garbage="${BASH_REMATCH[11]}"
  check_mapping "$mapping" "$observers" "$relay" "$relied_on"
  # No server was stopped before the STUN phase: every discovered one was live.
  local dead_at_stun=0
  ((discovered >= 1)) || fail "discovered=$discovered: the node found no candidate"
  ((discovered == ${#DISCOVERED[@]})) ||
    log "note: discovered=$discovered, the node printed ${#DISCOVERED[@]} distinct 'discovered' lines"
  ((stun_ok >= discovered - dead_at_stun)) ||
    fail "stun_ok=$stun_ok < discovered=$discovered: a live discovered candidate did not answer STUN"
  [[ ${reflexive%:*} == "$EXPECT_REFLEXIVE_IP" ]] ||
    fail "reflexive=$reflexive: its IP is not $EXPECT_REFLEXIVE_IP"
  [[ $nated == "$EXPECT_NATED" ]] || fail "nated=$nated, expected $EXPECT_NATED"
  if [[ $relay == none ]]; then
    fail "turn_relay=none: no relay allocated"
  else
    local i ok=""
    for i in "${WILLING[@]}"; do
      if [[ ${relay%:*} == "${STUN_ADDR[i]%:*}" ]] &&
        ((${relay##*:} >= RELAY_MIN[i] && ${relay##*:} <= RELAY_MAX[i])); then ok=1; fi
    done
    [[ -n $ok ]] || fail "turn_relay=$relay is not in any coturn's relay range"
  fi
  ((iterative >= 1)) || fail "iterative_discovered=$iterative: the iterative GET found nothing"
  [[ $dead_dropped == true ]] || fail "dead_dropped=$dead_dropped: the stopped server ($STOPPED_ADDR) was not dropped"
  [[ $garbage == true ]] || fail "garbage_survived=$garbage: no discovery after the attack"
}

# check_mapping MAPPING OBSERVERS RELAY RELIED_ON: what the variant's router
# must show. The mapping needs three observers at distinct addresses; every
# loopback peer is at 127.0.0.1, one observer address, so there it comes
# out unknown, and must above all not be called dependent.
check_mapping() {
  local mapping="$1" observers="$2" relay="$3" relied_on="$4" expect
  case "$VARIANT" in
    independent | dependent)
      expect="$VARIANT"
      [[ $mapping == "$expect" ]] ||
        fail "mapping=$mapping behind nft $(nat_rule "$VARIANT"), expected mapping=$expect"
      ((observers >= 3)) || fail "observers=$observers: a mapping verdict needs at least 3"
      ;;
    loopback)
      [[ $mapping != dependent ]] || fail "mapping=dependent on loopback, where there is no NAT"
      ;;
  esac
  case "$VARIANT" in
    independent)
      [[ $relied_on == stun ]] ||
        fail "relied_on=$relied_on under an endpoint-independent mapping: STUN is enough, expected relied_on=stun"
      ;;
    dependent)
      [[ $relay != none ]] ||
        fail "turn_relay=none under an endpoint-dependent mapping: the node must allocate a TURN relay"
      [[ $relied_on == turn ]] ||
        fail "relied_on=$relied_on under an endpoint-dependent mapping: STUN is not enough, expected relied_on=turn"
      ;;
    loopback)
      [[ $relied_on != none ]] || fail "relied_on=none: neither STUN nor TURN worked"
      ;;
  esac
}

stop_peers() {
  local i last
  for ((i = 0; i < NPEERS; i++)); do
    [[ -n ${PEER_PID[i]:-} ]] || continue
    if ! alive "${PEER_PID[i]}"; then
      fail "peer p$i exited before the end"
      stop_pid "${PEER_PID[i]}" 1
      continue
    fi
    stop_pid "${PEER_PID[i]}" 5
    ((STOP_RC == 0)) || fail "peer p$i exited with $STOP_RC on SIGTERM (contract: 0)"
    last="$(cat "$RUN/p$i.out" "$RUN/p$i.log" | grep -E 'peer .* stopped' | tail -n 1 || true)"
    [[ -n $last ]] || fail "peer p$i printed no 'peer <id> stopped' line on SIGTERM"
  done
}

# -------------------------------------------------------------------- main
[[ $MODE == loopback ]] || build_network
start_turnservers
check_servers
if [[ $MODE == topology ]]; then
  topology_only
  teardown
  if ((${#FAILS[@]})); then exit 1; fi
  log "topology OK"
  exit 0
fi
((${#FAILS[@]} == 0)) || exit 1

start_peers || exit 1

E2E_LINES=()
# run_variant VARIANT: the router set for it (netns), the node run through
# the overlay, followed and checked.
run_variant() {
  VARIANT="$1"
  DISCOVERED=()
  STOPPED_ADDR=""
  E2E_LINE=""
  ATTACKED=""
  local bind
  bind="$(node_bind "$VARIANT")"
  if [[ $MODE != loopback ]]; then
    set_nat "$VARIANT"
    restart_stopped_turnservers
  fi
  log "[$VARIANT] node: $bind via ${PEER_ADDR[0]}, --rounds-gap $GAP"
  : >"$RUN/node-$VARIANT.out" # follow_node opens it at once
  run_bg "$NODE_NS" "$RUN/node-$VARIANT.out" "$RUN/node-$VARIANT.log" "$BIN" node --bind "$bind" \
    --bootstrap "${PEER_ADDR[0]}" --turn-user "$TURN_USER:$TURN_PASS" --realm "$REALM" \
    --rounds-gap "$GAP"
  NODE_PID="$LAST_PID"
  follow_node
  stop_pid "$NODE_PID" 5
  NODE_RC="$STOP_RC"
  grep -E '^.*phase: ' "$RUN/node-$VARIANT.log" | sed "s/^/node-log[$VARIANT]| /" >&2 || true

  [[ -n $STOPPED_ADDR ]] || fail "no coturn was stopped (the node never printed 'waiting')"
  [[ -n $ATTACKED ]] || fail "no attack was run (the node never printed 'attack-window')"
  check_summary
  ((NODE_RC == 0)) || fail "the node exited with $NODE_RC"
  [[ -z $E2E_LINE ]] || E2E_LINES+=("$E2E_LINE")
  VARIANT=""
}

for variant in "${VARIANTS[@]}"; do run_variant "$variant"; done
stop_peers
teardown

((${#E2E_LINES[@]} == 0)) || printf '%s\n' "${E2E_LINES[@]}"
((${#FAILS[@]} == 0)) || exit 1
