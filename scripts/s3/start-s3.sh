#!/bin/bash
# start-s3.sh DIR PORT
# Adapted from the checked recipe in the project notes for the object storage tests (test/Parca.Server.Tests/RadosGw.cs
# starts one cluster per test class); rgw.sh stops and restarts only the S3 endpoint for outage tests.
#
# Starts a throw-away, single-node Ceph cluster (1 mon, 1 memstore OSD, no mgr)
# plus a radosgw (beast frontend) serving S3 on http://127.0.0.1:PORT.
# Everything (config, mon store, logs, pid files, sockets) lives in DIR.
# Daemons are started directly (no systemd, no containers); all bind to 127.0.0.1.
#
# Requires (Debian 12): apt-get install --no-install-recommends ceph-mon ceph-osd radosgw
#   (ceph-common comes with them; ceph-mgr is NOT needed)
#
# On success prints (to stdout) shell assignments, e.g.
#   export S3_ENDPOINT=http://127.0.0.1:PORT
#   export S3_ACCESS_KEY=...
#   export S3_SECRET_KEY=...
#   export S3_REGION=us-east-1
# so callers can do:  eval "$(./start-s3.sh /tmp/s3 7480)"
# Progress / diagnostics go to stderr. Stop with:  stop-s3.sh DIR
#
# Optional env: S3_ACCESS_KEY, S3_SECRET_KEY (defaults generated),
#               CEPH_MON_PORT (default: a free ephemeral port),
#               S3_TIMEOUT (seconds to wait for each stage, default 120),
#               OSD_BACKEND=memstore (default: data in OSD RAM, ~2x its size) | bluestore
#                   (data in a sparse file DIR/osd.0/block of BLUESTORE_BYTES, default 10 GiB)
#               MEMSTORE_BYTES (OSD capacity, default 4 GiB; RAM used only as data is written)
#               CEPH_EXTRA_CONF (text appended to ceph.conf, e.g. $'[client.rgw]\ndebug_rgw = 20')
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 DIR PORT" >&2
    exit 2
fi
DIR=$1
PORT=$2
TIMEOUT=${S3_TIMEOUT:-120}
MEMSTORE_BYTES=${MEMSTORE_BYTES:-4294967296}

log() { echo "[start-s3 $(date +%T.%3N)] $*" >&2; }
die() {
    log "ERROR: $*"
    for f in "$DIR"/log/*.log "$DIR"/log/*.stderr; do
        [ -f "$f" ] || continue
        echo "----- tail $f -----" >&2
        tail -n 30 "$f" >&2
    done
    # kill whatever we started -- by recorded PID only; DIR (with logs) is kept
    for f in "$DIR"/run/*.spid; do
        [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
        rm -f "$f"
    done
    log "logs kept in $DIR/log; remove DIR (or run stop-s3.sh DIR) before retrying"
    exit 1
}

for bin in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph /usr/bin/python3; do
    command -v "$bin" >/dev/null || { echo "missing $bin (apt-get install ceph-mon ceph-osd radosgw)" >&2; exit 2; }
done

if [ -e "$DIR/ceph.conf" ]; then
    echo "$DIR already contains a cluster; run stop-s3.sh $DIR first" >&2
    exit 2
fi
port_is_free() {
    # SO_REUSEADDR like radosgw itself: TIME_WAIT leftovers of a previous run are fine
    /usr/bin/python3 -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(); s.close()' "$1" 2>/dev/null
}
# otherwise the readiness probe below could be answered by someone else's server
port_is_free "$PORT" || { echo "port 127.0.0.1:$PORT is already in use" >&2; exit 2; }
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)   # absolute
mkdir -p "$DIR"/{run,log,crash,mon.a,osd.0,rgw}

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
MON_PORT=${CEPH_MON_PORT:-$(free_port)}
FSID=$(cat /proc/sys/kernel/random/uuid)
OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
randstr() { /usr/bin/python3 -c "import secrets,string,sys; print(''.join(secrets.choice(sys.argv[1]) for _ in range(int(sys.argv[2]))))" "$1" "$2"; }
ACCESS_KEY=${S3_ACCESS_KEY:-$(randstr ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 20)}
SECRET_KEY=${S3_SECRET_KEY:-$(randstr ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 40)}

case "${OSD_BACKEND:-memstore}" in
memstore)
    # objects live in the OSD's RAM (about 2x their size), nothing touches the disk
    OSD_STORE_CONF="osd_objectstore = memstore
memstore_device_bytes = $MEMSTORE_BYTES"
    ;;
bluestore)
    # objects go to a sparse file DIR/osd.0/block; the OSD stays ~100 MB RSS.
    # Needs O_DIRECT on DIR's filesystem (ext4/xfs; tmpfs only on Linux >= 6.6)
    OSD_STORE_CONF="osd_objectstore = bluestore
bluestore_block_size = ${BLUESTORE_BYTES:-10737418240}
bluestore_block_create = true
bluestore_cache_autotune = false
bluestore_cache_size = 67108864
osd_memory_target = 939524096
bluestore_fsck_on_mount = false
bluestore_fsck_on_mkfs = false"
    ;;
*) echo "OSD_BACKEND must be memstore or bluestore" >&2; exit 2 ;;
esac

CONF=$DIR/ceph.conf
cat >"$CONF" <<EOF
[global]
fsid = $FSID
mon_host = v2:127.0.0.1:$MON_PORT
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
public_network = 127.0.0.1/32
ms_bind_msgr1 = false
ms_bind_msgr2 = true
ms_bind_ipv6 = false

# no cephx: nothing here listens beyond loopback, and it saves keyring plumbing
auth_cluster_required = none
auth_service_required = none
auth_client_required = none

run_dir = $DIR/run
crash_dir = $DIR/crash
pid_file = $DIR/run/\$name.pid
admin_socket = $DIR/run/\$name.asok
log_file = $DIR/log/\$name.log
log_to_stderr = false
err_to_stderr = true
mon_cluster_log_file = $DIR/log/cluster.log
keyring = /dev/null

# single OSD cluster
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
osd_crush_chooseleaf_type = 0
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_max_pg_per_osd = 1000
mon_allow_pool_delete = true
mon_data_avail_warn = 2
mon_data_avail_crit = 1
debug_ms = 0
debug_monc = 0

[mon]
mon_data = $DIR/mon.\$id
# default 1 s: every osdmap change (each pool creation) waits for it
paxos_propose_interval = 0.05
paxos_min_wait = 0.01

[osd]
osd_data = $DIR/osd.\$id
$OSD_STORE_CONF
osd_class_update_on_start = false
osd_crush_update_on_start = true

[client]
log_file = $DIR/log/\$name.log
admin_socket = $DIR/run/\$name.\$pid.asok

[client.rgw]
rgw_data = $DIR/rgw
# radosgw defaults ms_mon_client_mode to "secure", which auth=none cannot provide
# (symptom: "send_auth_request get_initial_auth_request returned -13" forever)
ms_mon_client_mode = crc
rgw_frontends = beast endpoint=127.0.0.1:$PORT
rgw_enable_usage_log = false
rgw_thread_pool_size = 64
# deleted object data is otherwise kept (in OSD RAM, with memstore) for 2 h
rgw_gc_obj_min_wait = 10
rgw_gc_processor_period = 5
admin_socket = $DIR/run/rgw.asok
EOF
# extra ceph.conf text from the caller (appended last, so it can add sections)
if [ -n "${CEPH_EXTRA_CONF:-}" ]; then
    printf '\n%s\n' "$CEPH_EXTRA_CONF" >>"$CONF"
fi

CEPH="ceph -c $CONF --connect-timeout 30"
start=$(date +%s.%N)

# ---- monitor ----
log "mkfs mon.a (fsid $FSID, port $MON_PORT)"
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT]" "$DIR/monmap" >/dev/null
ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" || die "ceph-mon --mkfs failed"
# -f: stay in foreground (we background it ourselves so $! is the real daemon PID)
setsid ceph-mon -c "$CONF" -i a -f </dev/null >>"$DIR/log/mon.a.stderr" 2>&1 &
echo $! >"$DIR/run/mon.a.spid"
log "mon.a started pid $(cat "$DIR/run/mon.a.spid")"

# ---- OSD ----
OSD_ID=$(timeout "$TIMEOUT" $CEPH osd new "$OSD_UUID" 2>>"$DIR/log/cli.log") || die "ceph osd new failed (mon not reachable?)"
[ "$OSD_ID" = 0 ] || die "unexpected osd id '$OSD_ID'"
ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$OSD_UUID" >>"$DIR/log/osd.0.stderr" 2>&1 || die "ceph-osd --mkfs failed"
setsid ceph-osd -c "$CONF" -i 0 -f </dev/null >>"$DIR/log/osd.0.stderr" 2>&1 &
echo $! >"$DIR/run/osd.0.spid"
log "osd.0 started pid $(cat "$DIR/run/osd.0.spid")"

deadline=$(( $(date +%s) + TIMEOUT ))
until [ "$($CEPH osd stat -f json 2>>"$DIR/log/cli.log" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin).get("num_up_osds",0))' 2>/dev/null)" = 1 ]; do
    kill -0 "$(cat "$DIR/run/osd.0.spid")" 2>/dev/null || die "ceph-osd exited"
    [ "$(date +%s)" -lt "$deadline" ] || die "timeout waiting for osd.0 to come up"
    sleep 0.5
done
log "osd.0 up"

# ---- S3 user (radosgw-admin creates the rgw pools it needs) ----
timeout "$TIMEOUT" radosgw-admin -c "$CONF" -n client.admin user create \
    --uid=test --display-name="test user" \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >"$DIR/user.json" 2>>"$DIR/log/cli.log" \
    || die "radosgw-admin user create failed"
log "S3 user created"

# Pre-create the pools radosgw would otherwise create lazily on the first
# bucket / object / multipart request (each costs an osdmap round-trip).
/usr/bin/python3 - "$CONF" <<'PY' 2>>"$DIR/log/cli.log" || die "pool pre-creation failed"
import json, sys, rados
c = rados.Rados(conffile=sys.argv[1], name="client.admin")
c.connect(timeout=30)
def cmd(**kw):
    ret, out, err = c.mon_command(json.dumps(kw), b"", timeout=30)
    if ret != 0:
        raise SystemExit("%s -> %d %s" % (kw, ret, err))
for pool in ("default.rgw.buckets.index", "default.rgw.buckets.data", "default.rgw.buckets.non-ec"):
    cmd(prefix="osd pool create", pool=pool, pg_num=8, pgp_num=8)
    cmd(prefix="osd pool application enable", pool=pool, app="rgw")
c.shutdown()
PY
log "bucket pools created"

# ---- radosgw ----
setsid radosgw -c "$CONF" -n client.rgw -f </dev/null >>"$DIR/log/rgw.stderr" 2>&1 &
echo $! >"$DIR/run/rgw.spid"
log "radosgw started pid $(cat "$DIR/run/rgw.spid")"

deadline=$(( $(date +%s) + TIMEOUT ))
# anonymous "GET /" (ListAllMyBuckets) answers 200 once the beast frontend is up
http_ok() {
    /usr/bin/python3 -c 'import sys,urllib.request as u; u.build_opener(u.ProxyHandler({})).open(sys.argv[1], timeout=2).read()' "$1" 2>/dev/null
}
until http_ok "http://127.0.0.1:$PORT/"; do
    kill -0 "$(cat "$DIR/run/rgw.spid")" 2>/dev/null || die "radosgw exited"
    [ "$(date +%s)" -lt "$deadline" ] || die "timeout waiting for radosgw on port $PORT"
    sleep 0.2
done
end=$(date +%s.%N)
log "S3 ready on http://127.0.0.1:$PORT after $(/usr/bin/python3 -c "print(round($end-$start,2))")s"

cat >"$DIR/s3.env" <<EOF
S3_ENDPOINT=http://127.0.0.1:$PORT
S3_ACCESS_KEY=$ACCESS_KEY
S3_SECRET_KEY=$SECRET_KEY
S3_REGION=us-east-1
EOF
# stdout: export lines, so eval "$(start-s3.sh DIR PORT)" hands the endpoint to child processes (dotnet run ...)
sed "s/^/export /" "$DIR/s3.env"
