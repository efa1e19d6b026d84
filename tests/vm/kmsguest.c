/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kmsguest: the whole user space of a Linux guest that QEMU runs on an mbochs
 * mdev, inside the test VM (tests/vm/t-qemu.sh). It is the guest's /init: it
 * loads the bochs DRM driver (the modules listed in /modules/order, one
 * "FILE [PARAMS]" per line, dependencies first), then draws through KMS as a
 * compositor does: dumb buffers at the connector's preferred mode, SETCRTC,
 * then page flips. Frame N is drawn into a buffer that is not shown and
 * flipped to; pixel (x, y) of frame N is 0x00RRGGBB with R = x & 0xff,
 * G = y & 0xff, B = N & 0xff, the pattern of tests/vm/guest.c that
 * tests/vm/capture --check verifies. Then it powers the guest off.
 *
 * Settings (kernel command line words NAME=VALUE reach init's environment):
 *   KMSGUEST_FRAMES=N     frames to show, the first one included (12)
 *   KMSGUEST_INTERVAL_MS  time each frame stays shown (500)
 *   KMSGUEST_HOLD_MS      how long frame 1 stays shown before the flips
 *                         start, unless a line arrives on the console
 *                         first (30000)
 *
 * Console lines: "kmsguest: mode set WxH ...", "kmsguest: flip frame N",
 * "kmsguest: power off", or "kmsguest: error: ..." before powering off.
 * Only the kernel's uAPI headers and raw ioctls: the program is linked
 * statically and needs no library in the guest.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/param.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <drm/drm.h>
#include <drm/drm_mode.h>

#define N_BUFFERS 3

typedef struct
{
  uint32_t handle;
  uint32_t fb_id;
  uint32_t pitch;
  uint64_t size;
  uint32_t *pixels;
} Buffer;

typedef struct
{
  int fd;
  uint32_t connector_id;
  uint32_t crtc_id;
  struct drm_mode_modeinfo mode;
  Buffer buffers[N_BUFFERS];
} Kms;

static double
uptime (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_BOOTTIME, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void say (const char *format, ...)
    __attribute__ ((format (printf, 1, 2)));
static void die (const char *format, ...)
    __attribute__ ((format (printf, 1, 2), noreturn));

static void
say (const char *format, ...)
{
  va_list args;

  printf ("kmsguest: [%7.2f] ", uptime ());
  va_start (args, format);
  vprintf (format, args);
  va_end (args);
  printf ("\n");
  fflush (stdout);
}

static void __attribute__ ((noreturn))
power_off (void)
{
  say ("power off");
  sync ();
  reboot (RB_POWER_OFF);
  /* PID 1 must not exit: the kernel would panic. */
  for (;;)
    pause ();
}

static void
die (const char *format, ...)
{
  va_list args;

  printf ("kmsguest: error: ");
  va_start (args, format);
  vprintf (format, args);
  va_end (args);
  printf ("\n");
  power_off ();
}

static long
setting (const char *name, long fallback)
{
  const char *value = getenv (name);

  return value && *value ? strtol (value, NULL, 10) : fallback;
}

static void
sleep_ms (long ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

  while (nanosleep (&ts, &ts) < 0 && errno == EINTR);
}

static int
xioctl (int fd, unsigned long request, void *arg)
{
  int ret;

  do
    ret = ioctl (fd, request, arg);
  while (ret < 0 && (errno == EINTR || errno == EAGAIN));
  return ret;
}

/* As PID 1 nothing is mounted and stdio may have no console yet. */
static void
setup_system (void)
{
  int fd;

  mkdir ("/dev", 0755);
  mkdir ("/proc", 0755);
  mkdir ("/sys", 0755);
  if (mount ("devtmpfs", "/dev", "devtmpfs", 0, NULL) < 0 && errno != EBUSY)
    die ("mount /dev: %m");
  mount ("proc", "/proc", "proc", 0, NULL);
  mount ("sysfs", "/sys", "sysfs", 0, NULL);
  fd = open ("/dev/console", O_RDWR | O_NOCTTY);
  if (fd >= 0) {
    dup2 (fd, 0);
    dup2 (fd, 1);
    dup2 (fd, 2);
    if (fd > 2)
      close (fd);
  }
}

static void
load_modules (void)
{
  char line[512], path[300];
  FILE *order = fopen ("/modules/order", "r");

  if (!order)
    die ("no /modules/order: %m");
  while (fgets (line, sizeof line, order)) {
    char *file = strtok (line, " \n"), *params = strtok (NULL, "\n");
    int fd;

    if (!file)
      continue;
    snprintf (path, sizeof path, "/modules/%s", file);
    fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      die ("open %s: %m", path);
    if (syscall (SYS_finit_module, fd, params ? params : "", 0) < 0 &&
        errno != EEXIST)
      die ("load %s: %m", file);
    close (fd);
  }
  fclose (order);
}

/* The device node appears once bochs has probed the mdev. */
static int
open_card (void)
{
  for (int i = 0; i < 600; i++) {
    int fd = open ("/dev/dri/card0", O_RDWR | O_CLOEXEC);

    if (fd >= 0)
      return fd;
    sleep_ms (100);
  }
  die ("no /dev/dri/card0 after 60 s");
}

static void
find_output (Kms * kms)
{
  struct drm_mode_card_res res = { 0 };
  uint32_t connectors[16], crtcs[16];
  struct drm_mode_modeinfo modes[64];

  if (xioctl (kms->fd, DRM_IOCTL_MODE_GETRESOURCES, &res) < 0)
    die ("GETRESOURCES: %m");
  if (res.count_connectors == 0 || res.count_crtcs == 0)
    die ("no connector or no CRTC");
  res.count_connectors = MIN (res.count_connectors, 16);
  res.count_crtcs = MIN (res.count_crtcs, 16);
  res.count_fbs = res.count_encoders = 0;
  res.connector_id_ptr = (uintptr_t) connectors;
  res.crtc_id_ptr = (uintptr_t) crtcs;
  if (xioctl (kms->fd, DRM_IOCTL_MODE_GETRESOURCES, &res) < 0)
    die ("GETRESOURCES: %m");

  for (uint32_t i = 0; i < res.count_connectors; i++) {
    struct drm_mode_get_connector conn = {.connector_id = connectors[i] };
    struct drm_mode_get_encoder enc = { 0 };
    uint32_t encoders[8], n_modes;
    int best = 0;

    /* The first call probes the outputs. */
    if (xioctl (kms->fd, DRM_IOCTL_MODE_GETCONNECTOR, &conn) < 0)
      die ("GETCONNECTOR: %m");
    if (conn.connection != 1 || conn.count_modes == 0 ||
        conn.count_encoders == 0)
      continue;
    n_modes = MIN (conn.count_modes, 64);
    conn.count_modes = n_modes;
    conn.count_encoders = MIN (conn.count_encoders, 8);
    conn.count_props = 0;
    conn.modes_ptr = (uintptr_t) modes;
    conn.encoders_ptr = (uintptr_t) encoders;
    if (xioctl (kms->fd, DRM_IOCTL_MODE_GETCONNECTOR, &conn) < 0)
      die ("GETCONNECTOR: %m");
    for (uint32_t m = 0; m < MIN (conn.count_modes, n_modes); m++)
      if (modes[m].type & DRM_MODE_TYPE_PREFERRED) {
        best = m;
        break;
      }

    enc.encoder_id = encoders[0];
    if (xioctl (kms->fd, DRM_IOCTL_MODE_GETENCODER, &enc) < 0)
      die ("GETENCODER: %m");
    for (uint32_t c = 0; c < res.count_crtcs; c++)
      if (enc.possible_crtcs & (1u << c)) {
        kms->connector_id = conn.connector_id;
        kms->crtc_id = crtcs[c];
        kms->mode = modes[best];
        return;
      }
  }
  die ("no connected connector with a mode and a CRTC");
}

static void
create_buffer (Kms * kms, Buffer * buf)
{
  struct drm_mode_create_dumb create = {
    .width = kms->mode.hdisplay,.height = kms->mode.vdisplay,.bpp = 32
  };
  struct drm_mode_fb_cmd fb = { 0 };
  struct drm_mode_map_dumb map = { 0 };
  void *pixels;

  if (xioctl (kms->fd, DRM_IOCTL_MODE_CREATE_DUMB, &create) < 0)
    die ("CREATE_DUMB: %m");
  fb.width = create.width;
  fb.height = create.height;
  fb.pitch = create.pitch;
  fb.bpp = 32;
  fb.depth = 24;
  fb.handle = create.handle;
  if (xioctl (kms->fd, DRM_IOCTL_MODE_ADDFB, &fb) < 0)
    die ("ADDFB: %m");
  map.handle = create.handle;
  if (xioctl (kms->fd, DRM_IOCTL_MODE_MAP_DUMB, &map) < 0)
    die ("MAP_DUMB: %m");
  pixels = mmap (NULL, create.size, PROT_READ | PROT_WRITE, MAP_SHARED,
      kms->fd, map.offset);
  if (pixels == MAP_FAILED)
    die ("mmap of a dumb buffer: %m");
  buf->handle = create.handle;
  buf->fb_id = fb.fb_id;
  buf->pitch = create.pitch;
  buf->size = create.size;
  buf->pixels = pixels;
}

static void
draw (const Kms * kms, const Buffer * buf, uint32_t frame)
{
  for (uint32_t y = 0; y < kms->mode.vdisplay; y++) {
    uint32_t *row = (uint32_t *) ((char *) buf->pixels + y * buf->pitch);

    for (uint32_t x = 0; x < kms->mode.hdisplay; x++)
      row[x] = (x & 0xff) << 16 | (y & 0xff) << 8 | (frame & 0xff);
  }
}

static void
set_crtc (Kms * kms, const Buffer * buf)
{
  struct drm_mode_crtc crtc = {
    .crtc_id = kms->crtc_id,.fb_id = buf->fb_id,
    .set_connectors_ptr = (uintptr_t) & kms->connector_id,
    .count_connectors = 1,.mode = kms->mode,.mode_valid = 1,
  };

  if (xioctl (kms->fd, DRM_IOCTL_MODE_SETCRTC, &crtc) < 0)
    die ("SETCRTC: %m");
}

/* A flip with an event, which arrives once the new buffer is shown. */
static void
page_flip (Kms * kms, const Buffer * buf)
{
  struct drm_mode_crtc_page_flip flip = {
    .crtc_id = kms->crtc_id,.fb_id = buf->fb_id,
    .flags = DRM_MODE_PAGE_FLIP_EVENT,
  };
  struct pollfd pfd = {.fd = kms->fd,.events = POLLIN };
  char event[256];

  if (xioctl (kms->fd, DRM_IOCTL_MODE_PAGE_FLIP, &flip) < 0)
    die ("PAGE_FLIP: %m");
  if (poll (&pfd, 1, 10000) <= 0)
    die ("no page flip event within 10 s");
  if (read (kms->fd, event, sizeof event) < (ssize_t) sizeof (struct drm_event))
    die ("reading the page flip event: %m");
}

/* Frame 1 stays until a line arrives on the console or HOLD_MS passed. */
static void
hold (long hold_ms)
{
  struct pollfd pfd = {.fd = 0,.events = POLLIN };
  char line[64];

  if (poll (&pfd, 1, hold_ms) > 0 && read (0, line, sizeof line) > 0)
    say ("go");
}

int
main (void)
{
  long frames = setting ("KMSGUEST_FRAMES", 12);
  long interval_ms = setting ("KMSGUEST_INTERVAL_MS", 500);
  long hold_ms = setting ("KMSGUEST_HOLD_MS", 30000);
  Kms kms = { 0 };

  setup_system ();
  say ("loading the modules");
  load_modules ();
  kms.fd = open_card ();
  find_output (&kms);
  for (int i = 0; i < N_BUFFERS; i++)
    create_buffer (&kms, &kms.buffers[i]);

  draw (&kms, &kms.buffers[0], 1);
  set_crtc (&kms, &kms.buffers[0]);
  say ("mode set %ux%u XR24 stride %u, frame 1", kms.mode.hdisplay,
      kms.mode.vdisplay, kms.buffers[0].pitch);
  hold (hold_ms);

  /* Frame N goes into the buffer shown two flips ago, never the one a
   * capture may be reading now. */
  for (long n = 2; n <= frames; n++) {
    const Buffer *buf = &kms.buffers[(n - 1) % N_BUFFERS];

    sleep_ms (interval_ms);
    draw (&kms, buf, n);
    page_flip (&kms, buf);
    say ("flip frame %ld", n);
  }
  sleep_ms (interval_ms);
  power_off ();
  return 0;
}
