/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * guest: play both sides of a VFIO display mdev (the kernel's mbochs or mdpy
 * sample) inside the test VM. As a VMM it opens the device (container, group,
 * device fd); as a guest OS it sets display modes through the device's
 * registers and draws frames into its framebuffer. Tests run the element
 * under test as a child that inherits the device fd.
 *
 *   guest [OPTIONS] SCRIPT...            run a script on the device
 *   guest [OPTIONS] run -- CMD [ARGS...] set the mode, draw frame 0, start CMD
 *                                        with the device fd in VFIO_DEVICE_FD,
 *                                        run --script while CMD runs, exit
 *                                        with CMD's status
 *
 * Options: --device UUID, --device-fd N (a device fd inherited from a VMM,
 * as CMD gets it: the default when VFIO_DEVICE_FD is set, else
 * $VFIO_MDEV_UUID), --script TEXT, --script-file FILE ('-' for stdin),
 * --mode WxH (run's first mode).
 *
 * A script is commands separated by ';' or newlines:
 *   mode W H          set W x H at 32 bpp and enable the display (mbochs)
 *   vmode W H VW N    set W x H with lines VW pixels apart (a padded stride
 *                     when VW > W) and frame N in it before enabling
 *   draw N            draw frame N into the shown buffer
 *   flip N            draw frame N into the other buffer, then pan to it
 *                     (mbochs: the plane gets a second dma-buf id)
 *   fill RRGGBB       fill the shown buffer with one colour
 *   scene N           draw frame N of the demo scene into the shown buffer:
 *                     scrolling colour bars, a bouncing square, the frame
 *                     number and the mode in big digits
 *   blank, unblank    disable and enable the display (mbochs)
 *   animate N COUNT FPS [flip] [scene]
 *                     draw (or flip) frames N .. N+COUNT-1 at FPS, test
 *                     patterns or scenes
 *   cycle N COUNT FPS pan among N buffers of the mode, COUNT times at FPS:
 *                     pan K (1 .. COUNT) draws frame K into buffer K % N
 *                     and shows it (mbochs: N dma-buf ids, each shown
 *                     again every N pans; the buffers must fit in video
 *                     memory at page-aligned offsets)
 *   sleep SECONDS     wait (ends early when CMD exits)
 *   await FILE        wait until FILE exists, e.g. until CMD says that it
 *                     is ready (ends early when CMD exits; fails after 60 s)
 *   query             QUERY_GFX_PLANE only, printed
 *   probe [N]         query, export the dma-buf once per id, mmap it, print
 *                     everything; with N, check that it shows frame N.
 *                     Not while CMD runs: a second export of an id whose fd
 *                     is open corrupts mbochs (FACTS.md)
 *   signal NAME       send INT, TERM, KILL or USR1 to CMD and what it
 *                     started
 *   follow-edid N [SECONDS]
 *                     as the guest's bochs DRM driver: read the EDID the
 *                     host wrote from the start of BAR2 (mbochs shows it
 *                     there while the link is up), wait until its
 *                     preferred detailed timing is another mode than the
 *                     current one (polling: mbochs has no hotplug
 *                     interrupt), set that mode and draw frame N; fails
 *                     after SECONDS (default 60)
 *   wait              wait for CMD to exit
 *   verify FILE W H [N]
 *                     check that FILE is a packed W x H XRGB8888 (BGRx) dump
 *                     of frame N, or of any frame (no device needed)
 *   echo WORDS        print WORDS
 *
 * mbochs frees its framebuffer pages when the last device fd closes (the mode
 * stays): draw and check in one invocation, or under run.
 *
 * Pixel (x, y) of frame N is 0x00RRGGBB with R = x & 0xff, G = y & 0xff and
 * B = N & 0xff (DRM XRGB8888). Each change of what the display shows prints
 * "guest: t=SECONDS EVENT ..." with CLOCK_MONOTONIC, for latency tests.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/dma-buf.h>
#include <linux/vfio.h>

/* bochs VBE "dispi" registers: mbochs decodes them at BAR2 + 0x500, 16 bits
 * each (samples/vfio-mdev/mbochs.c) */
#define VBE_MMIO_OFFSET 0x500
#define VBE_ID 0x0
#define VBE_XRES 0x1
#define VBE_YRES 0x2
#define VBE_BPP 0x3
#define VBE_ENABLE 0x4
#define VBE_BANK 0x5
#define VBE_VIRT_WIDTH 0x6
#define VBE_VIRT_HEIGHT 0x7
#define VBE_X_OFFSET 0x8
#define VBE_Y_OFFSET 0x9
#define VBE_ENABLED 0x01
#define VBE_LFB_ENABLED 0x40
#define VBE_ID_MIN 0xB0C0

#define DRM_PLANE_PRIMARY 1
#define DRM_PLANE_CURSOR 2
#define MAX_EXPORTS 32
#define MAX_ARGS 16

typedef enum
{
  KIND_MBOCHS,
  KIND_MDPY,
} Kind;

typedef struct
{
  uint32_t id;
  int fd;
} Export;

typedef struct
{
  const char *uuid;
  bool inherited;
  bool opened;
  int container;
  int group;
  int device;
  Kind kind;
  struct vfio_region_info fb_region;
  struct vfio_region_info mmio_region;
  uint8_t *fb;
  size_t fb_len;
  uint32_t width;
  uint32_t height;
  uint32_t stride;
  unsigned front;
  Export exports[MAX_EXPORTS];
  unsigned n_exports;
  pid_t child;
  int pidfd;
  int child_status;
} Guest;

typedef struct
{
  char *argv[MAX_ARGS + 1];
  int argc;
} Command;

static pid_t child_pid;

static void fail (const char *format, ...)
    __attribute__((format (printf, 1, 2), noreturn));

static void
fail (const char *format, ...)
{
  va_list args;

  fflush (stdout);
  fputs ("guest: error: ", stderr);
  va_start (args, format);
  vfprintf (stderr, format, args);
  va_end (args);
  fputc ('\n', stderr);
  if (child_pid > 0)
    kill (-child_pid, SIGKILL);
  exit (1);
}

static uint64_t
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static void event (const char *format, ...)
    __attribute__((format (printf, 1, 2)));

/* One line per change of the display, stamped when the change is complete. */
static void
event (const char *format, ...)
{
  uint64_t t = now_ns ();
  va_list args;

  printf ("guest: t=%" PRIu64 ".%09" PRIu64 " ", t / 1000000000u,
      t % 1000000000u);
  va_start (args, format);
  vprintf (format, args);
  va_end (args);
  putchar ('\n');
}

static void
region_info (Guest * g, uint32_t index, struct vfio_region_info *info)
{
  memset (info, 0, sizeof *info);
  info->argsz = sizeof *info;
  info->index = index;
  if (ioctl (g->device, VFIO_DEVICE_GET_REGION_INFO, info) < 0)
    fail ("GET_REGION_INFO %u: %s", index, strerror (errno));
}

/* Config space and BAR2 go through read/write; framebuffers only through
 * mmap, as pread/pwrite on them hit the wrong offsets (FACTS.md). */
static void
region_write (Guest * g, const struct vfio_region_info *r, uint64_t offset,
    const void *data, size_t size)
{
  if (pwrite (g->device, data, size, r->offset + offset) != (ssize_t) size)
    fail ("write region %u @0x%" PRIx64 ": %s", r->index, offset,
        strerror (errno));
}

static void
region_read (Guest * g, const struct vfio_region_info *r, uint64_t offset,
    void *data, size_t size)
{
  if (pread (g->device, data, size, r->offset + offset) != (ssize_t) size)
    fail ("read region %u @0x%" PRIx64 ": %s", r->index, offset,
        strerror (errno));
}

static void
vbe_write (Guest * g, unsigned index, uint16_t value)
{
  region_write (g, &g->mmio_region, VBE_MMIO_OFFSET + 2 * index, &value, 2);
}

static uint16_t
vbe_read (Guest * g, unsigned index)
{
  uint16_t value;

  region_read (g, &g->mmio_region, VBE_MMIO_OFFSET + 2 * index, &value, 2);
  return value;
}

static int
xopen (const char *path, int flags)
{
  int fd = open (path, flags | O_CLOEXEC);

  if (fd < 0)
    fail ("could not open %s: %s", path, strerror (errno));
  return fd;
}

/* Container, group and device fd, as a VMM opens an mdev. */
static void
open_vfio (Guest * g)
{
  char link[PATH_MAX], path[PATH_MAX + 32];
  struct vfio_group_status status = {.argsz = sizeof status };
  const char *group;
  ssize_t n;

  snprintf (path, sizeof path, "/sys/bus/mdev/devices/%s/iommu_group", g->uuid);
  n = readlink (path, link, sizeof link - 1);
  if (n < 0)
    fail ("no mdev %s (%s: %s)", g->uuid, path, strerror (errno));
  link[n] = '\0';
  group = strrchr (link, '/') ? strrchr (link, '/') + 1 : link;

  g->container = xopen ("/dev/vfio/vfio", O_RDWR);
  if (ioctl (g->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
    fail ("unknown VFIO API version");
  if (ioctl (g->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0)
    fail ("no type1v2 IOMMU support (is vfio_iommu_type1 loaded?)");
  snprintf (path, sizeof path, "/dev/vfio/%s", group);
  g->group = xopen (path, O_RDWR);
  if (ioctl (g->group, VFIO_GROUP_GET_STATUS, &status) < 0)
    fail ("GROUP_GET_STATUS: %s", strerror (errno));
  if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
    fail ("group %s is not viable", group);
  if (ioctl (g->group, VFIO_GROUP_SET_CONTAINER, &g->container) < 0)
    fail ("GROUP_SET_CONTAINER: %s", strerror (errno));
  if (ioctl (g->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)
    fail ("SET_IOMMU: %s", strerror (errno));
  g->device = ioctl (g->group, VFIO_GROUP_GET_DEVICE_FD, g->uuid);
  if (g->device < 0)
    fail ("GROUP_GET_DEVICE_FD %s: %s", g->uuid, strerror (errno));
}

static void
map_framebuffer (Guest * g)
{
  if (!(g->fb_region.flags & VFIO_REGION_INFO_FLAG_MMAP))
    fail ("region %u cannot be mmapped", g->fb_region.index);
  g->fb_len = g->fb_region.size;
  g->fb = mmap (NULL, g->fb_len, PROT_READ | PROT_WRITE, MAP_SHARED,
      g->device, g->fb_region.offset);
  if (g->fb == MAP_FAILED)
    fail ("mmap of region %u: %s", g->fb_region.index, strerror (errno));
}

/* The BAR assignment a guest's firmware would do; mbochs only logs it. */
static void
assign_bars (Guest * g, const struct vfio_region_info *config)
{
  uint32_t bar0 = 0xe0000000, bar2 = 0xe1000000;

  region_write (g, config, 0x10, &bar0, 4);
  if (g->kind == KIND_MBOCHS)
    region_write (g, config, 0x18, &bar2, 4);
}

/* Picks up a mode that another process (the VMM side of run) set, shown
 * or blanked. */
static void
read_mode (Guest * g)
{
  if (vbe_read (g, VBE_BPP) != 32 || vbe_read (g, VBE_XRES) < 64)
    return;
  g->width = vbe_read (g, VBE_XRES);
  g->height = vbe_read (g, VBE_YRES);
  g->stride = g->width * 4;
  g->front = g->height && vbe_read (g, VBE_Y_OFFSET) == g->height;
}

static void
open_device (Guest * g)
{
  struct vfio_device_info info = {.argsz = sizeof info };
  struct vfio_region_info config;
  uint16_t ids[2];

  if (!g->inherited)
    open_vfio (g);
  if (ioctl (g->device, VFIO_DEVICE_GET_INFO, &info) < 0)
    fail ("DEVICE_GET_INFO: %s", strerror (errno));
  region_info (g, VFIO_PCI_CONFIG_REGION_INDEX, &config);
  region_read (g, &config, 0, ids, sizeof ids);
  if (ids[0] == 0x1234 && ids[1] == 0x1111) {
    g->kind = KIND_MBOCHS;
    region_info (g, VFIO_PCI_BAR0_REGION_INDEX, &g->fb_region);
    region_info (g, VFIO_PCI_BAR2_REGION_INDEX, &g->mmio_region);
    if (vbe_read (g, VBE_ID) < VBE_ID_MIN)
      fail ("no bochs dispi interface in BAR2");
    read_mode (g);
  } else if (ids[0] == 0x1b36 && ids[1] == 0x000f) {
    struct vfio_device_gfx_plane_info plane = {.argsz = sizeof plane };

    g->kind = KIND_MDPY;
    plane.flags = VFIO_GFX_PLANE_TYPE_REGION;
    plane.drm_plane_type = DRM_PLANE_PRIMARY;
    if (ioctl (g->device, VFIO_DEVICE_QUERY_GFX_PLANE, &plane) < 0)
      fail ("QUERY_GFX_PLANE: %s", strerror (errno));
    region_info (g, plane.region_index, &g->fb_region);
    /* mdpy's mode is fixed by its type and always shown */
    g->width = plane.width;
    g->height = plane.height;
    g->stride = plane.stride;
  } else {
    fail ("unknown device %04x:%04x (not mbochs or mdpy)", ids[0], ids[1]);
  }
  if (!g->inherited)
    assign_bars (g, &config);
  map_framebuffer (g);
  printf ("guest: device %s: %s, %u regions, framebuffer region %u "
      "(%" PRIu64 " bytes)\n", g->uuid,
      g->kind == KIND_MBOCHS ? "mbochs" : "mdpy", info.num_regions,
      g->fb_region.index, (uint64_t) g->fb_region.size);
}

static void
set_mode (Guest * g, uint32_t width, uint32_t height)
{
  if (g->kind == KIND_MDPY) {
    if (width != g->width || height != g->height)
      fail ("mdpy has a fixed %ux%u mode", g->width, g->height);
    return;
  }
  if (width < 64 || height < 64 || width > 0xffff || height > 0x7fff ||
      (uint64_t) width * height * 4 > g->fb_len)
    fail ("mode %ux%u does not fit in %zu bytes of video memory", width,
        height, g->fb_len);
  /* The order bochs-drm uses: disable, program, enable. */
  vbe_write (g, VBE_ENABLE, 0);
  vbe_write (g, VBE_BPP, 32);
  vbe_write (g, VBE_XRES, width);
  vbe_write (g, VBE_YRES, height);
  vbe_write (g, VBE_BANK, 0);
  vbe_write (g, VBE_VIRT_WIDTH, width);
  vbe_write (g, VBE_VIRT_HEIGHT, 2 * height);
  vbe_write (g, VBE_X_OFFSET, 0);
  vbe_write (g, VBE_Y_OFFSET, 0);
  vbe_write (g, VBE_ENABLE, VBE_ENABLED | VBE_LFB_ENABLED);
  g->width = width;
  g->height = height;
  g->stride = width * 4;
  g->front = 0;
  event ("mode %ux%u stride=%u", width, height, g->stride);
}

static void
set_enabled (Guest * g, bool enabled)
{
  uint16_t value = enabled ? VBE_ENABLED | VBE_LFB_ENABLED : 0;

  if (g->kind == KIND_MDPY)
    fail ("mdpy cannot disable its display");
  if (enabled && g->width == 0)
    fail ("unblank before any mode was set");
  vbe_write (g, VBE_ENABLE, value);
  event ("%s", enabled ? "unblank" : "blank");
}

static uint32_t *
buffer (Guest * g, unsigned index)
{
  size_t size = (size_t) g->stride * g->height;

  if (g->width == 0)
    fail ("no mode set: use 'mode W H' first");
  if ((index + 1) * size > g->fb_len)
    fail ("buffer %u of %ux%u does not fit in video memory", index,
        g->width, g->height);
  return (uint32_t *) (g->fb + index * size);
}

static void
paint (Guest * g, uint32_t * pixels, uint32_t frame, bool solid,
    uint32_t colour)
{
  uint32_t x, y, *row;

  for (y = 0; y < g->height; y++) {
    row = pixels + y * (g->stride / 4);
    for (x = 0; x < g->width; x++)
      row[x] = solid ? colour : (x & 0xff) << 16 | (y & 0xff) << 8 |
          (frame & 0xff);
  }
}

/* 3x5 glyphs of the digits and 'x', a row of 3 bits per line (MSB left) */
static const uint16_t glyphs[11] = {
  075557, 026227, 071747, 071717, 055711, 074717, 074757, 071111, 075757,
  075717, 005250,
};

static void
fill_rect (Guest * g, uint32_t * pixels, int x0, int y0, int w, int h,
    uint32_t colour)
{
  int x, y, x1 = x0 + w, y1 = y0 + h;

  x0 = x0 < 0 ? 0 : x0;
  y0 = y0 < 0 ? 0 : y0;
  x1 = x1 > (int) g->width ? (int) g->width : x1;
  y1 = y1 > (int) g->height ? (int) g->height : y1;
  for (y = y0; y < y1; y++)
    for (x = x0; x < x1; x++)
      pixels[y * (g->stride / 4) + x] = colour;
}

/* Draws TEXT (digits and 'x') at x0, y0 with S-pixel dots; returns the
 * width drawn. */
static int
draw_text (Guest * g, uint32_t * pixels, int x0, int y0, int s,
    const char *text, uint32_t colour)
{
  int i, row, col, bits, x = x0;

  for (i = 0; text[i]; i++, x += 4 * s) {
    bits = text[i] == 'x' ? glyphs[10] : glyphs[(text[i] - '0') % 10];
    for (row = 0; row < 5; row++)
      for (col = 0; col < 3; col++)
        if (bits >> (3 * (4 - row) + (2 - col)) & 1)
          fill_rect (g, pixels, x + col * s, y0 + row * s, s, s, colour);
  }
  return x - x0;
}

/* Position on a path of LEN pixels that bounces back and forth. */
static int
bounce (uint32_t t, int len)
{
  if (len <= 0)
    return 0;
  t %= 2 * len;
  return t < (uint32_t) len ? (int) t : 2 * len - (int) t;
}

/* The demo scene: something that visibly moves and tells frames and modes
 * apart. Whole rows are copied, so a frame costs little more than a
 * memcpy of the buffer even under TCG. */
static void
paint_scene (Guest * g, uint32_t * pixels, uint32_t frame)
{
  static const uint32_t bars[8] = {
    0xc0c0c0, 0xc0c000, 0x00c0c0, 0x00c000, 0xc000c0, 0xc00000, 0x0000c0,
    0x202020,
  };
  uint32_t w = g->width, h = g->height, pitch = g->stride / 4, x, y;
  uint32_t band = h * 2 / 3, shift = frame * 4;
  int s = h / 96 > 1 ? h / 96 : 1, size = h / 6, tw;
  char text[32];

  /* Colour bars scrolling left, then a dark band with a ramp. */
  for (x = 0; x < w; x++)
    pixels[x] = bars[((x + shift) * 8 / w) % 8];
  for (y = 1; y < band; y++)
    memcpy (pixels + y * pitch, pixels, w * 4);
  for (x = 0; x < w; x++)
    pixels[band * pitch + x] = (x * 128 / w) * 0x010101;
  for (y = band + 1; y < h; y++)
    memcpy (pixels + y * pitch, pixels + band * pitch, w * 4);

  /* A square bouncing around the whole screen. */
  fill_rect (g, pixels, bounce (frame * 9, w - size), bounce (frame * 5,
          h - size), size, size, 0xff2020);
  fill_rect (g, pixels, bounce (frame * 9, w - size) + s, bounce (frame * 5,
          h - size) + s, size - 2 * s, size - 2 * s, 0xffffff);

  /* The frame number and the mode, in a black box. */
  snprintf (text, sizeof text, "%04u", frame % 10000);
  fill_rect (g, pixels, 0, 0, 4 * s * 14 + 2 * s, 7 * s, 0);
  tw = draw_text (g, pixels, s, s, s, text, 0xffffff);
  snprintf (text, sizeof text, "%ux%u", w, h);
  draw_text (g, pixels, s + tw + 2 * s, s, s, text, 0x40ff40);
  /* A progress bar of the second (30 frames) along the bottom. */
  fill_rect (g, pixels, 0, h - 2 * s, (frame % 30 + 1) * w / 30, 2 * s,
      0xffff00);
}

static void
render (Guest * g, uint32_t * pixels, uint32_t frame, bool scene)
{
  if (scene)
    paint_scene (g, pixels, frame);
  else
    paint (g, pixels, frame, false, 0);
}

static void
draw (Guest * g, uint32_t frame, bool scene)
{
  render (g, buffer (g, g->front), frame, scene);
  event ("%s frame=%u size=%ux%u buffer=%u", scene ? "scene" : "draw", frame,
      g->width, g->height, g->front);
}

static void
fill (Guest * g, uint32_t colour)
{
  paint (g, buffer (g, g->front), 0, true, colour);
  event ("fill colour=%06x size=%ux%u buffer=%u", colour, g->width,
      g->height, g->front);
}

/* Double buffering: each buffer is a distinct mbochs mode (its offset
 * differs), so the plane alternates between two dma-buf ids. */
static void
flip (Guest * g, uint32_t frame, bool scene)
{
  unsigned back = !g->front;

  if (g->kind == KIND_MDPY)
    fail ("mdpy cannot pan: use draw");
  render (g, buffer (g, back), frame, scene);
  vbe_write (g, VBE_Y_OFFSET, back * g->height);
  g->front = back;
  event ("flip frame=%u size=%ux%u buffer=%u", frame, g->width, g->height,
      back);
}

/* Shows buffer INDEX with frame N drawn into it, by panning to it as
 * bochs-drm does: every buffer offset is its own mbochs dma-buf id. */
static void
pan (Guest * g, unsigned index, uint32_t frame)
{
  render (g, buffer (g, index), frame, false);
  vbe_write (g, VBE_Y_OFFSET, index * g->height);
  g->front = index;
  event ("pan frame=%u size=%ux%u buffer=%u", frame, g->width, g->height,
      index);
}

static const char *
fourcc (uint32_t code, char out[5])
{
  unsigned i;

  for (i = 0; i < 4; i++) {
    out[i] = (code >> (8 * i)) & 0xff;
    if (out[i] < 0x20 || out[i] > 0x7e)
      out[i] = '?';
  }
  out[4] = '\0';
  return out;
}

static int
query_plane (Guest * g, uint32_t type, struct vfio_device_gfx_plane_info *p)
{
  memset (p, 0, sizeof *p);
  p->argsz = sizeof *p;
  p->flags = g->kind == KIND_MBOCHS ? VFIO_GFX_PLANE_TYPE_DMABUF :
      VFIO_GFX_PLANE_TYPE_REGION;
  p->drm_plane_type = type;
  return ioctl (g->device, VFIO_DEVICE_QUERY_GFX_PLANE, p) < 0 ? -errno : 0;
}

static void
print_plane (const char *name, const struct vfio_device_gfx_plane_info *p)
{
  char cc[5];

  if (p->drm_format == 0 && p->width == 0 && p->height == 0) {
    printf ("guest: %s plane: disabled\n", name);
    return;
  }
  printf ("guest: %s plane: format=%s modifier=0x%" PRIx64 " size=%ux%u "
      "stride=%u bytes=%u pos=%u,%u hot=%u,%u %s=%u\n", name,
      fourcc (p->drm_format, cc), (uint64_t) p->drm_format_mod, p->width,
      p->height, p->stride, p->size, p->x_pos, p->y_pos, p->x_hot, p->y_hot,
      (p->flags & VFIO_GFX_PLANE_TYPE_DMABUF) ? "dmabuf_id" : "region_index",
      p->dmabuf_id);
}

static void
query (Guest * g)
{
  struct vfio_device_gfx_plane_info p;
  int err = query_plane (g, DRM_PLANE_PRIMARY, &p);

  if (err < 0)
    printf ("guest: query: %s\n", strerror (-err));
  else
    print_plane ("primary", &p);
}

/* One export per dma-buf id for the life of the device: mbochs breaks on a
 * second export of an id, whether or not the first fd is still open. */
static int
export_dmabuf (Guest * g, uint32_t id)
{
  unsigned i;
  int fd;

  for (i = 0; i < g->n_exports; i++)
    if (g->exports[i].id == id)
      return g->exports[i].fd;
  if (g->n_exports == MAX_EXPORTS)
    fail ("too many dma-bufs");
  fd = ioctl (g->device, VFIO_DEVICE_GET_GFX_DMABUF, &id);
  if (fd < 0)
    fail ("GET_GFX_DMABUF %u: %s", id, strerror (errno));
  g->exports[g->n_exports].id = id;
  g->exports[g->n_exports].fd = fd;
  g->n_exports++;
  return fd;
}

/* Counts pixels that differ from frame N, within the mapping: a dma-buf
 * whose size is not a page multiple maps only its whole pages. */
static unsigned
check_frame (const struct vfio_device_gfx_plane_info *p, const uint8_t * map,
    size_t len, uint32_t frame)
{
  unsigned wrong = 0, checked = 0;
  uint32_t x, y, got, want;
  size_t at;

  for (y = 0; y < p->height; y++) {
    for (x = 0; x < p->width; x++) {
      at = y * (size_t) p->stride + 4 * x;
      if (at + 4 > len)
        break;
      want = (x & 0xff) << 16 | (y & 0xff) << 8 | (frame & 0xff);
      got = *(const uint32_t *) (map + at) & 0xffffff;
      checked++;
      if (got != want && wrong++ < 5)
        printf ("guest: pixel %u,%u is %06x, want %06x\n", x, y, got, want);
    }
  }
  printf ("guest: pixels: %u checked, %u wrong, %u beyond the mapping\n",
      checked, wrong, p->width * p->height - checked);
  return wrong;
}

/* Maps what the plane shows: the dma-buf, or the region in the device fd.
 * A dma-buf whose size is not a page multiple maps only its whole pages. */
static const uint8_t *
map_plane (Guest * g, const struct vfio_device_gfx_plane_info *p,
    size_t *len, int *fd_out, off_t * offset)
{
  long page = sysconf (_SC_PAGESIZE);
  struct vfio_region_info r;
  void *map;
  int fd, flags;

  if (p->flags & VFIO_GFX_PLANE_TYPE_DMABUF) {
    fd = export_dmabuf (g, p->dmabuf_id);
    flags = fcntl (fd, F_GETFL);
    printf ("guest: dmabuf id=%u fd=%d size=%lld access=%s\n", p->dmabuf_id,
        fd, (long long) lseek (fd, 0, SEEK_END),
        (flags & O_ACCMODE) == O_RDWR ? "rw" : "ro");
    *len = p->size / page * page;
    *offset = 0;
  } else {
    fd = g->device;
    region_info (g, p->region_index, &r);
    *len = p->size < r.size ? p->size : r.size;
    *offset = r.offset;
  }
  *fd_out = fd;
  map = mmap (NULL, *len, PROT_READ, MAP_SHARED, fd, *offset);
  if (map == MAP_FAILED) {
    printf ("guest: mmap %zu bytes: %s\n", *len, strerror (errno));
    return NULL;
  }
  printf ("guest: mmap %zu bytes: ok\n", *len);
  return map;
}

static void
print_edid (Guest * g)
{
  struct vfio_device_info info = {.argsz = sizeof info };
  struct vfio_region_info_cap_type *cap;
  struct vfio_region_gfx_edid edid;
  struct vfio_region_info *r;
  uint32_t i;

  if (ioctl (g->device, VFIO_DEVICE_GET_INFO, &info) < 0)
    return;
  for (i = 0; i < info.num_regions; i++) {
    struct vfio_region_info head = {.argsz = sizeof head,.index = i };

    if (ioctl (g->device, VFIO_DEVICE_GET_REGION_INFO, &head) < 0 ||
        !(head.flags & VFIO_REGION_INFO_FLAG_CAPS) || head.argsz <= sizeof head)
      continue;
    /* Again with room for the capability chain: mbochs refuses more. */
    r = calloc (1, head.argsz);
    r->argsz = head.argsz;
    r->index = i;
    if (ioctl (g->device, VFIO_DEVICE_GET_REGION_INFO, r) == 0 &&
        r->cap_offset >= sizeof *r && r->cap_offset + sizeof *cap <= r->argsz) {
      cap = (struct vfio_region_info_cap_type *) ((uint8_t *) r +
          r->cap_offset);
      if (cap->header.id == VFIO_REGION_INFO_CAP_TYPE &&
          cap->type == VFIO_REGION_TYPE_GFX &&
          cap->subtype == VFIO_REGION_SUBTYPE_GFX_EDID) {
        region_read (g, r, 0, &edid, sizeof edid);
        printf ("guest: edid region %u: max=%ux%u blob=%u@%u link_state=%u\n",
            i, edid.max_xres, edid.max_yres, edid.edid_max_size,
            edid.edid_offset, edid.link_state);
      }
    }
    free (r);
  }
}

static void
probe_support (Guest * g)
{
  struct vfio_device_gfx_plane_info p = {.argsz = sizeof p };
  int err;

  p.flags = VFIO_GFX_PLANE_TYPE_PROBE | VFIO_GFX_PLANE_TYPE_DMABUF;
  err = ioctl (g->device, VFIO_DEVICE_QUERY_GFX_PLANE, &p) < 0 ? errno : 0;
  printf ("guest: probe dmabuf: %s\n", err ? strerror (err) : "supported");
  p.flags = VFIO_GFX_PLANE_TYPE_PROBE | VFIO_GFX_PLANE_TYPE_REGION;
  err = ioctl (g->device, VFIO_DEVICE_QUERY_GFX_PLANE, &p) < 0 ? errno : 0;
  printf ("guest: probe region: %s\n", err ? strerror (err) : "supported");
  err = query_plane (g, DRM_PLANE_CURSOR, &p);
  if (err < 0)
    printf ("guest: cursor query: %s\n", strerror (-err));
  else
    print_plane ("cursor", &p);
  print_edid (g);
}

static void
check_mapped (const struct vfio_device_gfx_plane_info *p, const uint8_t * map,
    size_t len, int fd, uint32_t frame)
{
  struct dma_buf_sync sync = { 0 };
  bool dmabuf = p->flags & VFIO_GFX_PLANE_TYPE_DMABUF;
  unsigned wrong;

  sync.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ;
  if (dmabuf && ioctl (fd, DMA_BUF_IOCTL_SYNC, &sync) < 0)
    printf ("guest: DMA_BUF_IOCTL_SYNC: %s\n", strerror (errno));
  wrong = check_frame (p, map, len, frame);
  sync.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ;
  if (dmabuf)
    ioctl (fd, DMA_BUF_IOCTL_SYNC, &sync);
  if (wrong)
    fail ("the plane does not show frame %u", frame);
}

/* Everything a capture element does, printed; with a frame number, checks
 * that the mapped plane shows it. */
static void
probe (Guest * g, bool check, uint32_t frame)
{
  struct vfio_device_gfx_plane_info p;
  const uint8_t *map;
  size_t len = 0;
  off_t offset;
  int err, fd;

  probe_support (g);
  err = query_plane (g, DRM_PLANE_PRIMARY, &p);
  if (err == -ENOMEM) {
    /* mbochs drops the buffer it allocates for a new mode (FACTS.md) */
    printf ("guest: primary query: ENOMEM, retrying\n");
    err = query_plane (g, DRM_PLANE_PRIMARY, &p);
  }
  if (err < 0)
    fail ("primary QUERY_GFX_PLANE: %s", strerror (-err));
  print_plane ("primary", &p);
  if (p.width == 0 && check)
    fail ("the plane is disabled, frame %u expected", frame);
  map = p.width ? map_plane (g, &p, &len, &fd, &offset) : NULL;
  if (map == NULL && p.width && check)
    fail ("cannot check frame %u: the plane cannot be mmapped", frame);
  if (map != NULL) {
    if (check)
      check_mapped (&p, map, len, fd, frame);
    munmap ((void *) map, len);
  }
  printf ("guest: probe: OK\n");
}

/* The command under test: inherits the device fd, nothing else of ours. It
 * leads a process group, so that signals and the final clean-up reach what
 * it started: a leftover holder of the device fd keeps the group busy. */
static void
spawn (Guest * g, char **argv)
{
  char number[16];
  pid_t pid;

  fflush (stdout);
  fflush (stderr);
  pid = fork ();
  if (pid < 0)
    fail ("fork: %s", strerror (errno));
  if (pid == 0) {
    snprintf (number, sizeof number, "%d", g->device);
    if (setpgid (0, 0) < 0 || fcntl (g->device, F_SETFD, 0) < 0 ||
        setenv ("VFIO_DEVICE_FD", number, 1) < 0)
      _exit (127);
    execvp (argv[0], argv);
    fprintf (stderr, "guest: cannot run %s: %s\n", argv[0], strerror (errno));
    _exit (127);
  }
  setpgid (pid, pid);
  g->child = child_pid = pid;
  g->pidfd = syscall (SYS_pidfd_open, pid, 0);
  if (g->pidfd < 0)
    fail ("pidfd_open: %s", strerror (errno));
  event ("spawn pid=%d cmd=%s device_fd=%d", pid, argv[0], g->device);
}

/* Waits until the deadline (0: forever) or until CMD exits; true if it has
 * exited. Without CMD, just sleeps. */
static bool
wait_child (Guest * g, uint64_t deadline)
{
  struct pollfd pfd = {.fd = g->pidfd,.events = POLLIN };
  struct timespec ts, *timeout = NULL;
  uint64_t now;
  int status, n;

  if (g->child <= 0) {
    ts.tv_sec = deadline / 1000000000u;
    ts.tv_nsec = deadline % 1000000000u;
    while (deadline && clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
            NULL) == EINTR);
    return false;
  }
  do {
    if (deadline) {
      now = now_ns ();
      now = deadline > now ? deadline - now : 0;
      ts.tv_sec = now / 1000000000u;
      ts.tv_nsec = now % 1000000000u;
      timeout = &ts;
    }
    n = ppoll (&pfd, 1, timeout, NULL);
  } while (n < 0 && errno == EINTR);
  if (n < 0)
    fail ("ppoll: %s", strerror (errno));
  if (n == 0)
    return false;
  if (waitpid (g->child, &status, 0) < 0)
    fail ("waitpid: %s", strerror (errno));
  g->child_status = WIFEXITED (status) ? WEXITSTATUS (status) :
      128 + WTERMSIG (status);
  event ("exit pid=%d status=%d", g->child, g->child_status);
  kill (-g->child, SIGKILL);
  close (g->pidfd);
  g->child = child_pid = 0;
  return true;
}

static void
await_file (Guest * g, const char *path)
{
  uint64_t deadline = now_ns () + 60 * (uint64_t) 1000000000u;

  while (access (path, F_OK) != 0) {
    if (now_ns () > deadline)
      fail ("await: no %s after 60 s", path);
    if (wait_child (g, now_ns () + 20000000u))
      return;
  }
  event ("await %s", path);
}

static uint32_t
parse_uint (const char *s, int base)
{
  unsigned long v;
  char *end;

  errno = 0;
  v = strtoul (s, &end, base);
  if (errno || end == s || *end || v > UINT32_MAX || *s == '-')
    fail ("'%s' is not a number", s);
  return v;
}

static double
parse_seconds (const char *s)
{
  double v;
  char *end;

  v = strtod (s, &end);
  if (end == s || *end || !(v >= 0 && v < 1e6))
    fail ("'%s' is not a time in seconds", s);
  return v;
}

static int
parse_signal (const char *s)
{
  if (!strcmp (s, "INT"))
    return SIGINT;
  if (!strcmp (s, "TERM"))
    return SIGTERM;
  if (!strcmp (s, "KILL"))
    return SIGKILL;
  if (!strcmp (s, "USR1"))
    return SIGUSR1;
  fail ("unknown signal '%s' (INT, TERM, KILL, USR1)", s);
}

static void
animate (Guest * g, Command * c, bool dry)
{
  uint32_t first = parse_uint (c->argv[1], 0), count =
      parse_uint (c->argv[2], 0), i;
  double fps = parse_seconds (c->argv[3]);
  bool flipping = false, scene = false;
  uint64_t start, period;
  int a;

  for (a = 4; a < c->argc; a++) {
    if (!strcmp (c->argv[a], "flip"))
      flipping = true;
    else if (!strcmp (c->argv[a], "scene"))
      scene = true;
    else
      fail ("animate: '%s' is neither 'flip' nor 'scene'", c->argv[a]);
  }
  if (fps <= 0)
    fail ("animate: FPS must be positive");
  if (dry)
    return;
  period = 1e9 / fps;
  start = now_ns ();
  for (i = 0; i < count; i++) {
    if (i > 0 && wait_child (g, start + i * period))
      return;
    if (flipping)
      flip (g, first + i, scene);
    else
      draw (g, first + i, scene);
  }
}

static void
cycle (Guest * g, Command * c, bool dry)
{
  uint32_t n = parse_uint (c->argv[1], 0), count = parse_uint (c->argv[2], 0);
  double fps = parse_seconds (c->argv[3]);
  long page = sysconf (_SC_PAGESIZE);
  uint64_t start, period, size;
  uint32_t k;

  if (n < 2 || n > 0xffff || fps <= 0)
    fail ("cycle: N must be 2 or more and FPS positive");
  if (dry)
    return;
  if (g->kind != KIND_MBOCHS)
    fail ("cycle: only mbochs can pan");
  size = (uint64_t) g->stride * g->height;
  /* mbochs exports only page-aligned framebuffers; Y_OFFSET is 16 bits. */
  if (size % page || (uint64_t) n * g->height > 0xffff)
    fail ("cycle: %u buffers of %ux%u cannot be panned to", n, g->width,
        g->height);
  if (n * size > g->fb_len)
    fail ("cycle: %u buffers of %ux%u do not fit in %zu bytes", n, g->width,
        g->height, g->fb_len);
  vbe_write (g, VBE_VIRT_HEIGHT, n * g->height);
  period = 1e9 / fps;
  start = now_ns ();
  for (k = 1; k <= count; k++) {
    if (k > 1 && wait_child (g, start + (k - 1) * period))
      return;
    pan (g, k % n, k);
  }
}

/* Checks that FILE holds frame N (or any frame: the one of its first pixel)
 * as packed XRGB8888 / BGRx, the way a pipeline under test dumps it. */
static void
verify_file (const char *path, uint32_t width, uint32_t height, bool any,
    uint32_t frame)
{
  struct vfio_device_gfx_plane_info p = {.width = width,.height = height };
  const uint8_t *map;
  struct stat st;
  int fd = xopen (path, O_RDONLY);

  p.stride = width * 4;
  if (fstat (fd, &st) < 0 || (uint64_t) st.st_size != (uint64_t) p.stride *
      height)
    fail ("%s: %lld bytes, not a %ux%u frame", path, (long long) st.st_size,
        width, height);
  map = mmap (NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED)
    fail ("mmap %s: %s", path, strerror (errno));
  if (any)
    frame = map[0];
  if (check_frame (&p, map, st.st_size, frame) != 0)
    fail ("%s does not show frame %u", path, frame);
  printf ("guest: %s shows frame %u\n", path, frame);
  munmap ((void *) map, st.st_size);
  close (fd);
}

static void
ensure_device (Guest * g)
{
  if (!g->opened)
    open_device (g);
  g->opened = true;
}

/* The preferred mode of a valid EDID base block (header, checksum, a
 * detailed timing first), as drm_edid reads it; false if there is none. */
static bool
edid_preferred_mode (const uint8_t * b, uint32_t * width, uint32_t * height)
{
  static const uint8_t header[8] = { 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0 };
  uint8_t sum = 0;
  unsigned i;

  if (memcmp (b, header, sizeof header))
    return false;
  for (i = 0; i < 128; i++)
    sum += b[i];
  if (sum != 0 || (b[54] == 0 && b[55] == 0))
    return false;
  *width = b[56] | (b[58] & 0xf0) << 4;
  *height = b[59] | (b[61] & 0xf0) << 4;
  return true;
}

/* The guest-OS side of a host's EDID write on mbochs: the blob appears at
 * BAR2 0x000 while the link is up (handle_mmio_read() in mbochs.c), and
 * nothing interrupts the guest, so it polls. */
static void
follow_edid (Guest * g, uint32_t frame, double seconds)
{
  uint64_t deadline = now_ns () + (uint64_t) (seconds * 1e9);
  uint32_t width = 0, height = 0;
  uint8_t edid[128];

  if (g->kind != KIND_MBOCHS)
    fail ("follow-edid: only mbochs shows an EDID to its guest");
  for (;;) {
    region_read (g, &g->mmio_region, 0, edid, sizeof edid);
    if (edid_preferred_mode (edid, &width, &height) &&
        (width != g->width || height != g->height))
      break;
    if (now_ns () > deadline)
      fail ("follow-edid: no EDID with a new preferred mode after %.0f s "
          "(now %ux%u)", seconds, g->width, g->height);
    if (wait_child (g, now_ns () + 50000000u))
      fail ("follow-edid: CMD exited first");
  }
  event ("edid preferred=%ux%u", width, height);
  set_mode (g, width, height);
  draw (g, frame, false);
}

static void
follow_edid_command (Guest * g, Command * c, bool dry)
{
  uint32_t frame = parse_uint (c->argv[1], 0);
  double seconds = c->argc == 3 ? parse_seconds (c->argv[2]) : 60;

  if (!dry)
    follow_edid (g, frame, seconds);
}

/* The first buffer of a new mode whose @size bytes do not overlap the
 * buffer shown now: a capture still reading that one sees whole frames. */
static unsigned
free_buffer (Guest * g, size_t size)
{
  size_t shown = (size_t) g->stride * g->height;
  size_t start = g->front * shown, end = start + shown;
  unsigned k;

  for (k = 0; (k + 1) * size <= g->fb_len; k++)
    if (g->width == 0 || (k + 1) * size <= start || k * size >= end)
      return k;
  fail ("no room for a %zu-byte buffer beside the one shown", size);
  return 0;
}

/* vmode W H VIRT_WIDTH FRAME: a mode whose lines are VIRT_WIDTH pixels
 * apart (mbochs' stride is VIRT_WIDTH * 4: a padded stride when it exceeds
 * W, as real GPUs pitch their scan-out), showing FRAME from its first
 * scan-out, which is drawn before the display is enabled again and apart
 * from the buffer shown before: no frame is ever shown or read torn. */
static void
vmode_command (Guest * g, Command * c, bool dry)
{
  uint32_t w, h, vw, frame;
  unsigned k;

  if (c->argc != 5)
    fail ("'vmode' takes 4 arguments: W H VIRT_WIDTH FRAME");
  w = parse_uint (c->argv[1], 0);
  h = parse_uint (c->argv[2], 0);
  vw = parse_uint (c->argv[3], 0);
  frame = parse_uint (c->argv[4], 0);
  if (w < 64 || h < 64 || vw < w || vw > 0xffff || h > 0x7fff)
    fail ("vmode %u %u %u: not a mode", w, h, vw);
  if (dry)
    return;
  if (g->kind == KIND_MDPY)
    fail ("mdpy has a fixed mode");
  k = free_buffer (g, (size_t) vw * 4 * h);

  vbe_write (g, VBE_ENABLE, 0);
  vbe_write (g, VBE_BPP, 32);
  vbe_write (g, VBE_XRES, w);
  vbe_write (g, VBE_YRES, h);
  vbe_write (g, VBE_BANK, 0);
  vbe_write (g, VBE_VIRT_WIDTH, vw);
  vbe_write (g, VBE_VIRT_HEIGHT, (k + 2) * h);
  vbe_write (g, VBE_X_OFFSET, 0);
  vbe_write (g, VBE_Y_OFFSET, k * h);
  g->width = w;
  g->height = h;
  g->stride = vw * 4;
  g->front = k;
  render (g, buffer (g, k), frame, false);
  vbe_write (g, VBE_ENABLE, VBE_ENABLED | VBE_LFB_ENABLED);
  event ("mode %ux%u stride=%u frame=%u buffer=%u", w, h, g->stride, frame,
      k);
}

/* Runs one command, or with dry only checks its arguments. */
static void
execute (Guest * g, Command * c, bool dry)
{
  const char *op = c->argv[0];
  int i;

  if (!dry && strcmp (op, "echo") && strcmp (op, "sleep") &&
      strcmp (op, "verify") && strcmp (op, "await"))
    ensure_device (g);

#define ARGS(min, max) \
  if (c->argc - 1 < (min) || c->argc - 1 > (max)) \
    fail ("'%s' takes %d to %d arguments", op, (min), (max))
  if (!strcmp (op, "mode")) {
    uint32_t w, h;

    ARGS (2, 2);
    w = parse_uint (c->argv[1], 0);
    h = parse_uint (c->argv[2], 0);
    if (!dry)
      set_mode (g, w, h);
  } else if (!strcmp (op, "draw") || !strcmp (op, "flip") ||
      !strcmp (op, "scene")) {
    uint32_t n;

    ARGS (1, 1);
    n = parse_uint (c->argv[1], 0);
    if (!dry && op[0] == 'f')
      flip (g, n, false);
    else if (!dry)
      draw (g, n, op[0] == 's');
  } else if (!strcmp (op, "fill")) {
    uint32_t colour;

    ARGS (1, 1);
    colour = parse_uint (c->argv[1], 16);
    if (!dry)
      fill (g, colour & 0xffffff);
  } else if (!strcmp (op, "blank") || !strcmp (op, "unblank")) {
    ARGS (0, 0);
    if (!dry)
      set_enabled (g, op[0] == 'u');
  } else if (!strcmp (op, "vmode")) {
    vmode_command (g, c, dry);
  } else if (!strcmp (op, "animate")) {
    ARGS (3, 5);
    animate (g, c, dry);
  } else if (!strcmp (op, "cycle")) {
    ARGS (3, 3);
    cycle (g, c, dry);
  } else if (!strcmp (op, "sleep")) {
    double s;

    ARGS (1, 1);
    s = parse_seconds (c->argv[1]);
    if (!dry)
      wait_child (g, now_ns () + (uint64_t) (s * 1e9) + 1);
  } else if (!strcmp (op, "await")) {
    ARGS (1, 1);
    if (!dry)
      await_file (g, c->argv[1]);
  } else if (!strcmp (op, "query")) {
    ARGS (0, 0);
    if (!dry)
      query (g);
  } else if (!strcmp (op, "probe")) {
    uint32_t n = 0;

    ARGS (0, 1);
    if (c->argc == 2)
      n = parse_uint (c->argv[1], 0);
    if (!dry && g->child > 0)
      fail ("no probe while CMD runs: exporting a dma-buf twice breaks "
          "mbochs");
    if (!dry)
      probe (g, c->argc == 2, n);
  } else if (!strcmp (op, "signal")) {
    int sig;

    ARGS (1, 1);
    sig = parse_signal (c->argv[1]);
    if (!dry && g->child > 0) {
      kill (-g->child, sig);
      event ("signal %s pid=%d", c->argv[1], g->child);
    }
  } else if (!strcmp (op, "wait")) {
    ARGS (0, 0);
    if (!dry)
      wait_child (g, 0);
  } else if (!strcmp (op, "verify")) {
    uint32_t w, h, n = 0;

    ARGS (3, 4);
    w = parse_uint (c->argv[2], 0);
    h = parse_uint (c->argv[3], 0);
    if (c->argc == 5)
      n = parse_uint (c->argv[4], 0);
    if (!dry)
      verify_file (c->argv[1], w, h, c->argc == 4, n);
  } else if (!strcmp (op, "follow-edid")) {
    ARGS (1, 2);
    follow_edid_command (g, c, dry);
  } else if (!strcmp (op, "echo")) {
    for (i = 1; !dry && i < c->argc; i++)
      printf ("%s%c", c->argv[i], i + 1 < c->argc ? ' ' : '\n');
  } else {
    fail ("unknown command '%s'", op);
  }
#undef ARGS
}

/* Splits TEXT (modified in place) into commands: ';' or newline between
 * commands, blanks between words, '#' to the end of the line a comment. */
static Command *
parse_script (char *text, unsigned *n_out)
{
  Command *cmds = NULL;
  unsigned n = 0;
  char *p, *segment, *word, *save1, *save2;

  for (p = strchr (text, '#'); p; p = strchr (p, '#'))
    while (*p && *p != '\n')
      *p++ = ' ';
  for (segment = strtok_r (text, ";\n", &save1); segment;
      segment = strtok_r (NULL, ";\n", &save1)) {
    Command c = { {0}, 0 };

    for (word = strtok_r (segment, " \t\r", &save2); word;
        word = strtok_r (NULL, " \t\r", &save2)) {
      if (c.argc == MAX_ARGS)
        fail ("too many words in '%s ...'", c.argv[0]);
      c.argv[c.argc++] = word;
    }
    if (c.argc == 0)
      continue;
    cmds = realloc (cmds, (n + 1) * sizeof *cmds);
    if (cmds == NULL)
      fail ("out of memory");
    cmds[n++] = c;
  }
  *n_out = n;
  return cmds;
}

static void
run_script (Guest * g, Command * cmds, unsigned n, bool spawned)
{
  unsigned i;

  for (i = 0; i < n; i++) {
    if (spawned && g->child <= 0) {
      printf ("guest: CMD exited; %u script commands not run\n", n - i);
      return;
    }
    execute (g, &cmds[i], false);
  }
}

static char *
read_file (const char *path)
{
  FILE *f = strcmp (path, "-") ? fopen (path, "r") : stdin;
  size_t len = 0, size = 4096;
  char *text = malloc (size);

  if (f == NULL || text == NULL)
    fail ("cannot read %s: %s", path, strerror (errno));
  while ((len += fread (text + len, 1, size - len - 1, f)) == size - 1) {
    size *= 2;
    text = realloc (text, size);
    if (text == NULL)
      fail ("out of memory");
  }
  text[len] = '\0';
  if (f != stdin)
    fclose (f);
  return text;
}

static char *
append (char *text, const char *more, const char *separator)
{
  size_t len = text ? strlen (text) : 0;

  text = realloc (text, len + strlen (separator) + strlen (more) + 1);
  if (text == NULL)
    fail ("out of memory");
  sprintf (text + len, "%s%s", len ? separator : "", more);
  return text;
}

static void
usage (int status)
{
  fprintf (status ? stderr : stdout,
      "usage: guest [--device UUID | --device-fd N] [--script TEXT]\n"
      "             [--script-file FILE]\n"
      "             [--mode WxH] (SCRIPT... | run -- CMD [ARGS...])\n"
      "See the head of tests/vm/guest.c for the script commands.\n");
  exit (status);
}

int
main (int argc, char **argv)
{
  Guest g = {.uuid = getenv ("VFIO_MDEV_UUID"),.pidfd = -1 };
  const char *fd = getenv ("VFIO_DEVICE_FD");
  uint32_t width = 640, height = 480;
  char *text = NULL, **cmd = NULL;
  bool mode_given = false;
  Command *cmds;
  unsigned n, i;
  int a;

  setvbuf (stdout, NULL, _IOLBF, 0);
  for (a = 1; a < argc && argv[a][0] == '-' && argv[a][1] == '-'; a += 2) {
    if (!strcmp (argv[a], "--help"))
      usage (0);
    if (!strcmp (argv[a], "--"))
      break;
    if (a + 1 == argc)
      usage (2);
    if (!strcmp (argv[a], "--device")) {
      g.uuid = argv[a + 1];
      fd = NULL;
    } else if (!strcmp (argv[a], "--device-fd"))
      fd = argv[a + 1];
    else if (!strcmp (argv[a], "--script"))
      text = append (text, argv[a + 1], ";");
    else if (!strcmp (argv[a], "--script-file"))
      text = append (text, read_file (argv[a + 1]), ";");
    else if (!strcmp (argv[a], "--mode")) {
      if (sscanf (argv[a + 1], "%ux%u", &width, &height) != 2)
        fail ("--mode takes WxH, not '%s'", argv[a + 1]);
      mode_given = true;
    } else
      usage (2);
  }
  if (a < argc && !strcmp (argv[a], "run")) {
    a += a + 1 < argc && !strcmp (argv[a + 1], "--") ? 2 : 1;
    if (a == argc)
      fail ("run: no command given");
    cmd = argv + a;
  } else {
    for (; a < argc; a++)
      text = append (text, argv[a], " ");
    if (text == NULL)
      usage (2);
  }
  if (fd != NULL) {
    g.device = parse_uint (fd, 10);
    g.inherited = true;
    g.uuid = "(inherited)";
  } else if (g.uuid == NULL) {
    fail ("no device: give --device UUID or set VFIO_MDEV_UUID");
  }

  cmds = parse_script (text ? text : (char[]) { "" }, &n);
  for (i = 0; i < n; i++)
    execute (&g, &cmds[i], true);
  if (cmd == NULL) {
    run_script (&g, cmds, n, false);
    return 0;
  }
  ensure_device (&g);
  if (g.kind == KIND_MBOCHS || mode_given)
    set_mode (&g, width, height);
  draw (&g, 0, false);
  spawn (&g, cmd);
  run_script (&g, cmds, n, true);
  if (g.child > 0)
    wait_child (&g, 0);
  return g.child_status;
}
