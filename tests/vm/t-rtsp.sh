# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vm-rtsp: vfio-rtsp-server on the real kernel's mbochs (run by run-vm with
# an mbochs_rw mdev, whose dma-bufs the CPU can map for x264).
#  1. the server, started first, finds the mdev through the device provider
#     and serves it at /UUID; the guest program then holds the mdev as a
#     VMM named rtsp-test would (-name guest=rtsp-test): the server finds
#     the name and serves it at /rtsp-test too
#  2. gst-launch-1.0 (rtspsrc ! rtph264depay ! avdec_h264) decodes frames
#     of 640x480 showing the guest's frame 1, by block averages
#  3. a second client, after the first left, gets frames at once (the
#     capture of a running VM is kept: mbochs must not export again what
#     it exported) and is counted; the VMM exits while it plays: its
#     stream ends without error, the server says why, the group is free
. "$(dirname "$0")/lib.sh"

[ -n "${RTSP_SERVER:-}" ] ||
  fail "RTSP_SERVER is not set: vfio-rtsp-server was not built"
rw=$(mdev_uuid mbochs_rw-medium)
log=/tmp/server.log
vmm=
server=
client=
stop_all () {
  for p in $client $server $vmm; do kill $p 2>/dev/null; done
  wait 2>/dev/null
}
trap 'stop_all' EXIT

# client NAME FRAMES DIR: gst-launch-1.0 playing NAME, BGRx frames in DIR
# (FRAMES 0: until the stream ends).
client () {
  local eos=silent=true
  [ "$2" -gt 0 ] && eos="eos-after=$2"
  mkdir -p "$3"
  exec gst-launch-1.0 -e rtspsrc "location=rtsp://127.0.0.1:8554/$1" \
    protocols=tcp latency=200 ! rtph264depay ! avdec_h264 ! videoconvert ! \
    video/x-raw,format=BGRx ! identity "$eos" ! \
    multifilesink "location=$3/%05d.bgrx" max-files=3
}

# The VM's init leaves the loopback interface down.
ip link set lo up || fail "cannot bring the loopback interface up"

step "the server serves the mdev; a VMM named rtsp-test starts: served by name"
stdbuf -oL "$RTSP_SERVER" --port 8554 --fps 10 --bitrate 1500 \
  --status-interval 2 >$log 2>&1 &
server=$!
wait_for_line $log "serving $rw at rtsp://127.0.0.1:8554/$rw\$" 30 ||
  { cat $log; fail "the server does not serve the mdev at its UUID"; }
( exec -a qemu-system-x86_64 "$GUEST" --device "$rw" \
    'mode 640 480; draw 1; echo holding; sleep 100; echo' \
    -name guest=rtsp-test,debug-threads=on ) >/tmp/vmm.log 2>&1 &
vmm=$!
wait_for_line /tmp/vmm.log '^holding' 20 ||
  { cat /tmp/vmm.log; fail "the VMM did not start"; }
# Starting a VM sends no event: the server looks for names every 5 s.
wait_for_line $log "serving $rw at rtsp://127.0.0.1:8554/rtsp-test\$" 15 ||
  { cat $log; fail "the server does not serve rtsp-test by name"; }

step "gst-launch-1.0 decodes the guest's frame"
run_logged /tmp/client1.log timeout 60 \
  bash -c "$(declare -f client); client rtsp-test 8 /tmp/c1" ||
  fail "the client failed"
last=$(ls /tmp/c1 | sort | tail -n 1)
[ -n "$last" ] || fail "no frame decoded"
python3 - "/tmp/c1/$last" <<'PY' || fail "the decoded frame is not the guest's frame 1"
import sys
data = open(sys.argv[1], "rb").read()
w, h, n = 640, 480, 1
if len(data) != w * h * 4:
    sys.exit("%d bytes, not a 640x480 BGRx frame" % len(data))
worst = 0
for by in range(0, h, 16):
    for bx in range(0, w, 16):
        got = [0, 0, 0]
        for y in range(by, by + 16):
            row = data[(y * w + bx) * 4:(y * w + bx + 16) * 4]
            for c in range(3):
                got[c] += sum(row[c::4])
        want = [n * 256, sum(y & 0xff for y in range(by, by + 16)) * 16,
                sum(x & 0xff for x in range(bx, bx + 16)) * 16]
        for c in range(3):
            d = abs(got[c] - want[c]) / 256
            worst = max(worst, d)
            if d > 12:
                sys.exit("block (%d, %d) channel %d off by %.1f" % (bx, by, c, d))
print("  the guest's frame 1, worst block off by %.1f" % worst)
PY

step "the VMM exits mid-stream: the stream ends, the group is free"
client rtsp-test 0 /tmp/c2 >/tmp/client2.log 2>&1 &
client=$!
for i in $(seq 300); do
  [ "$(ls /tmp/c2 2>/dev/null | wc -l)" -gt 0 ] && break
  sleep 0.1
done
[ "$(ls /tmp/c2 | wc -l)" -gt 0 ] ||
  { cat /tmp/client2.log; fail "the second client decoded nothing"; }
wait_for_line $log 'rtsp-test: 1 client, [0-9.]+ fps' 10 ||
  { cat $log; fail "no status line counts the client"; }
kill $vmm
wait $vmm 2>/dev/null
vmm=
status=0
for i in $(seq 200); do
  kill -0 $client 2>/dev/null || break
  sleep 0.1
done
if kill -0 $client 2>/dev/null; then
  cat /tmp/client2.log
  fail "the client still plays 20 s after the VMM exited"
fi
wait $client || status=$?
client=
sed 's/^/  | /' /tmp/client2.log
[ $status -eq 0 ] || fail "the client ended with status $status"
wait_for_line $log "rtsp-test: the stream ended \(the VM's process [0-9]+ exited\)" 10 ||
  { cat $log; fail "the server did not say that the VM's process exited"; }
# The borrowed fd is closed: the group opens again.
$GUEST --device "$rw" 'mode 640 480; draw 2' >/tmp/vmm2.log 2>&1 ||
  { cat /tmp/vmm2.log; fail "the group is still busy after the stream ended"; }
kill $server
wait $server 2>/dev/null
server=
sed 's/^/  | /' $log

no_kernel_trouble
say "OK"
