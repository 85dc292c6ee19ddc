#!/bin/bash
# rgw.sh DIR stop|start
# Stops or restarts only the radosgw of a cluster made by start-s3.sh DIR (the mon and the OSD keep running, so the
# objects survive): the S3 endpoint goes away and comes back on the same port, as a bucket outage looks to a client.
# Stopping kills the recorded PID only (after checking its command line names DIR/ceph.conf), never by name.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 DIR stop|start" >&2; exit 2; }
DIR=$(cd "$1" && pwd)
PIDFILE=$DIR/run/rgw.spid
case "$2" in
stop)
    [ -f "$PIDFILE" ] || exit 0
    pid=$(cat "$PIDFILE")
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$DIR/ceph.conf"; then
        kill -KILL "$pid"
        for _ in $(seq 1 100); do
            st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || break
            [ "$st" = Z ] && break
            sleep 0.05
        done
    fi
    rm -f "$PIDFILE"
    ;;
start)
    [ ! -f "$PIDFILE" ] || { echo "radosgw already running (pid $(cat "$PIDFILE"))" >&2; exit 2; }
    PORT=$(sed -n 's/^S3_ENDPOINT=http:\/\/127.0.0.1:\([0-9]*\)$/\1/p' "$DIR/s3.env")
    setsid radosgw -c "$DIR/ceph.conf" -n client.rgw -f </dev/null >>"$DIR/log/rgw.stderr" 2>&1 &
    echo $! >"$PIDFILE"
    for _ in $(seq 1 300); do
        /usr/bin/python3 -c 'import sys,urllib.request as u; u.build_opener(u.ProxyHandler({})).open(sys.argv[1], timeout=2).read()' "http://127.0.0.1:$PORT/" 2>/dev/null && exit 0
        kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { echo "radosgw exited; see $DIR/log" >&2; exit 1; }
        sleep 0.2
    done
    echo "radosgw did not answer on port $PORT within 60 s" >&2
    exit 1
    ;;
*) echo "usage: $0 DIR stop|start" >&2; exit 2 ;;
esac
