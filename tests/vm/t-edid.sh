# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vm-edid: the stream chooses the guest's resolution through the real mbochs
# EDID region (run by run-vm with mbochs_rw, a medium and a small mdev).
# guest.c plays the guest OS as the bochs DRM driver would: it reads the
# EDID from the start of BAR2, takes its preferred mode and sets it (mbochs
# has no hotplug interrupt: it polls).
#  1. guest-mode=1024x768 at start: the guest leaves 640x480 for 1024x768,
#     and the frames at the sink are 1024x768, pixel-exact
#  2. guest-mode=1280x720 while playing: the guest follows, the element
#     renegotiates, the frames are 1280x720, pixel-exact; 2 EDID writes
#  3. guest-mode=1024x768 on mbochs_rw-small (at most 800x600): refused,
#     the limit in the error, and the guest sees no EDID
. "$(dirname "$0")/lib.sh"

rw=$(mdev_uuid mbochs_rw-medium)
small=$(mdev_uuid mbochs_rw-small)
log=/tmp/capture.log

step "guest-mode=1024x768, then 1280x720 while playing"
run_logged $log "$GUEST" --device "$rw" --mode 640x480 --script '
    follow-edid 1 60; await /tmp/ready; sleep 1
    signal USR1; follow-edid 2 60; sleep 1.5
    signal INT' \
  run -- sh -c 'exec "$CAPTURE" --check --ready /tmp/ready \
    --set-on-usr1 guest-mode=1280x720 \
    "vfiogfxsrc device-fd=$VFIO_DEVICE_FD guest-mode=1024x768 ! \
     video/x-raw,format=BGRx,framerate=15/1 ! fakesink name=sink"' ||
  fail "the pipeline failed"

expect $log '^guest: t=[0-9.]+ edid preferred=1024x768$' \
  "the guest reading 1024x768 from the EDID"
expect $log '^capture: set guest-mode=1280x720$' "the property change"
expect $log '^guest: t=[0-9.]+ edid preferred=1280x720$' \
  "the guest reading 1280x720 from the EDID"
sizes=$(caps_sizes $log)
say "caps: $sizes"
# The element may negotiate the guest's first mode before it switches.
echo "$sizes" | grep -Eqx '(640x480 )?1024x768 1280x720' ||
  fail "the caps are not 1024x768 then 1280x720"
d=$(digest $log)
say "digest: $d"
echo "$d" | grep -Eqx 'ON (640x480:0 )?(OFF ON )?1024x768:1 (OFF ON )?1280x720:2' ||
  fail "not frame 1 at 1024x768 then frame 2 at 1280x720"
[ "$(stat $log edid-writes)" = 2 ] || fail "not 2 EDID writes"
expect $log '^capture: done: ' "capture's summary"

step "guest-mode above the limit of mbochs_rw-small"
rc=0
run_logged $log "$GUEST" --device "$small" --mode 640x480 --script 'sleep 60' \
  run -- sh -c 'exec "$CAPTURE" "vfiogfxsrc device-fd=$VFIO_DEVICE_FD \
    guest-mode=1024x768 ! fakesink"' || rc=$?
[ $rc -eq 1 ] || fail "capture ended with status $rc, not an error"
expect $log '^capture: error: guest-mode=1024x768: .*at most 800x600' \
  "the limit in the error"
rc=0
run_logged $log "$GUEST" --device "$small" 'follow-edid 0 1' || rc=$?
[ $rc -ne 0 ] || fail "the guest sees an EDID after a refused mode"
expect $log 'follow-edid: no EDID with a new preferred mode' \
  "no EDID shown to the guest"
no_kernel_trouble
say "OK"
