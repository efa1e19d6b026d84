/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfioemu personalities: what differs between the kernel drivers that the
 * emulated mdev stands for. How dma-buf ids are handed out, how big a plane
 * and its dma-buf are, whether a dma-buf maps, and what a second export of
 * one id does.
 *
 * GENERIC: mode n (in the order first shown) has ids 2n+1 and 2n+2 for the
 *   life of the mdev; sizes are rounded up to a page.
 * MBOCHS (samples/vfio-mdev/mbochs.c): an id per (mode, scan-out offset),
 *   from a counter that lives as long as the mdev, so an id is never used
 *   twice; the ids are dropped when the device file is closed
 *   (mbochs_close_device()), a mode shown after a reopen gets a new one. The
 *   first query of a scan-out that has no id yet fails with ENOMEM
 *   (mbochs_query_gfx_plane() drops the result of mbochs_dmabuf_alloc()).
 *   size = stride * height exactly, and the dma-buf has that size.
 * GVTG (drivers/gpu/drm/i915/gvt/dmabuf.c): ids from an idr (lowest free id
 *   from 1). An id is freed when the last dma-buf exported for it is
 *   released (the dmabuf object's kref: intel_vgpu_get_dmabuf() drops the
 *   initial reference at the first export, dmabuf_gem_object_free() does
 *   idr_remove()); one queried and never exported keeps it until the
 *   device closes. A freed number goes to the next new framebuffer, and the
 *   framebuffer that had it gets a new one when shown again. GET_GFX_DMABUF
 *   of an unknown id is EINVAL; size = stride * height rounded up to whole tile rows
 *   (vgpu_get_plane_info()), the dma-buf a page-rounded proxy object that
 *   refuses CPU mmap with ENODEV; every export is a new object and fd.
 *
 * Double exports: mbochs takes the page references of an id once and drops
 * them at every release of one of its dma-bufs, so a second export of an
 * id in one device life corrupts host memory (FACTS: measured on 6.12). An
 * exporter not known to survive it (GENERIC, MBOCHS) makes the test abort
 * with both call sites, unless vfio_emu_set_double_export_fatal (FALSE).
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "vfioemu-private.h"

#include <errno.h>
#include <execinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BACKTRACE_DEPTH 32

/* fourcc_mod_code (INTEL, n) of drm_fourcc.h */
#define EMU_MOD_INTEL(n) (((uint64_t) 0x01 << 56) | (n))
#define EMU_MOD_X_TILED EMU_MOD_INTEL (1)
#define EMU_MOD_Y_TILED EMU_MOD_INTEL (2)
#define EMU_MOD_Yf_TILED EMU_MOD_INTEL (3)

/* A scan-out buffer with an id in this device life (MBOCHS, GVTG). */
typedef struct
{
  guint mode;
  guint buffer;
  uint32_t id;
  gboolean queried;             /* MBOCHS: its ENOMEM query happened */
  unsigned open_dmabufs;        /* GVTG: its dma-bufs not released yet */
} EmuScanout;

/* The exports of one id in this device life. */
typedef struct
{
  unsigned count;
  void *first_frames[BACKTRACE_DEPTH];
  int n_first_frames;
} EmuExport;

static gboolean double_export_tolerated;

void
emu_personality_init (VfioEmuDevice * dev)
{
  dev->exports = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  dev->scanouts = g_array_new (FALSE, TRUE, sizeof (EmuScanout));
  dev->next_id = 1;
}

void
emu_personality_free (VfioEmuDevice * dev)
{
  g_clear_pointer (&dev->exports, g_hash_table_unref);
  g_clear_pointer (&dev->scanouts, g_array_unref);
}

void
emu_personality_reset (void)
{
  double_export_tolerated = FALSE;
}

static const char *
personality_name (VfioEmuPersonality personality)
{
  switch (personality) {
    case VFIO_EMU_PERSONALITY_MBOCHS:
      return "mbochs";
    case VFIO_EMU_PERSONALITY_GVTG:
      return "GVT-g";
    case VFIO_EMU_PERSONALITY_GENERIC:
      break;
  }
  return "generic";
}

/* ---------------------------------------------------------------------- */
/* Sizes */

/* Rows per tile of 32-bit formats, as gstvfioformat.c knows them. */
static guint
tile_height (uint64_t modifier)
{
  switch (modifier) {
    case EMU_MOD_X_TILED:
      return 8;
    case EMU_MOD_Y_TILED:
    case EMU_MOD_Yf_TILED:
      return 32;
    default:
      return 1;
  }
}

void
emu_personality_size_mode (const VfioEmuDevice * dev, EmuMode * mode)
{
  uint64_t bytes = (uint64_t) mode->stride * mode->height;
  guint rows;

  switch (dev->personality) {
    case VFIO_EMU_PERSONALITY_MBOCHS:
      mode->size = bytes;
      mode->backing = bytes;
      break;
    case VFIO_EMU_PERSONALITY_GVTG:
      rows = tile_height (mode->modifier);
      mode->size = (uint64_t) mode->stride *
          ((mode->height + rows - 1) / rows * rows);
      mode->backing = emu_round_up_to_page (mode->size);
      break;
    case VFIO_EMU_PERSONALITY_GENERIC:
    default:
      mode->size = emu_round_up_to_page (bytes);
      mode->backing = mode->size;
      break;
  }
}

int
emu_personality_dmabuf_mmap_errno (const VfioEmuDevice * dev)
{
  /* i915_gem_dmabuf_mmap(): a GVT-g proxy has no shmem file. */
  if (dev->personality == VFIO_EMU_PERSONALITY_GVTG)
    return ENODEV;
  return dev->mmap_fails ? EINVAL : 0;
}

/* ---------------------------------------------------------------------- */
/* Ids */

static EmuScanout *
find_scanout (const VfioEmuDevice * dev, guint mode, guint buffer)
{
  for (guint i = 0; i < dev->scanouts->len; i++) {
    EmuScanout *s = &g_array_index (dev->scanouts, EmuScanout, i);

    if (s->mode == mode && s->buffer == buffer)
      return s;
  }
  return NULL;
}

static gint
scanout_index_of_id (const VfioEmuDevice * dev, uint32_t id)
{
  for (guint i = 0; i < dev->scanouts->len; i++) {
    if (g_array_index (dev->scanouts, EmuScanout, i).id == id)
      return i;
  }
  return -1;
}

static EmuScanout *
find_scanout_by_id (const VfioEmuDevice * dev, uint32_t id)
{
  gint i = scanout_index_of_id (dev, id);

  return i < 0 ? NULL : &g_array_index (dev->scanouts, EmuScanout, i);
}

/* idr_alloc (&idr, obj, 1, 0, ...) */
static uint32_t
lowest_free_id (const VfioEmuDevice * dev)
{
  uint32_t id = 1;

  while (find_scanout_by_id (dev, id))
    id++;
  return id;
}

static EmuScanout *
shown_scanout (VfioEmuDevice * dev)
{
  EmuScanout *s = find_scanout (dev, dev->mode, dev->buffer);
  EmuScanout fresh = {.mode = dev->mode,.buffer = dev->buffer };

  if (s)
    return s;
  if (dev->personality == VFIO_EMU_PERSONALITY_MBOCHS)
    fresh.id = dev->next_id++;
  else
    fresh.id = lowest_free_id (dev);
  g_array_append_val (dev->scanouts, fresh);
  return &g_array_index (dev->scanouts, EmuScanout, dev->scanouts->len - 1);
}

uint32_t
emu_personality_shown_id (VfioEmuDevice * dev)
{
  if (dev->personality == VFIO_EMU_PERSONALITY_GENERIC)
    return dev->mode * 2 + dev->buffer + 1;
  return shown_scanout (dev)->id;
}

int
emu_personality_query_errno (VfioEmuDevice * dev)
{
  EmuScanout *s;

  if (dev->personality != VFIO_EMU_PERSONALITY_MBOCHS)
    return 0;
  s = shown_scanout (dev);
  if (s->queried)
    return 0;
  s->queried = TRUE;
  return -ENOMEM;
}

gboolean
emu_personality_buffer_of_id (const VfioEmuDevice * dev, uint32_t id,
    guint * mode, guint * buffer)
{
  const EmuScanout *s;

  if (dev->personality == VFIO_EMU_PERSONALITY_GENERIC) {
    if (id == 0 || (id - 1) / 2 >= dev->modes->len)
      return FALSE;
    *mode = (id - 1) / 2;
    *buffer = (id - 1) % 2;
    return TRUE;
  }
  s = find_scanout_by_id (dev, id);
  if (!s)
    return FALSE;
  *mode = s->mode;
  *buffer = s->buffer;
  return TRUE;
}

gboolean
emu_personality_lookup_id (const VfioEmuDevice * dev, uint32_t id,
    EmuMode * mode)
{
  guint index, buffer;

  if (!emu_personality_buffer_of_id (dev, id, &index, &buffer))
    return FALSE;
  *mode = g_array_index (dev->modes, EmuMode, index);
  return TRUE;
}

int
emu_personality_unknown_id_errno (const VfioEmuDevice * dev)
{
  /* intel_vgpu_get_dmabuf(); mbochs_get_gfx_dmabuf() says ENOENT. */
  if (dev->personality == VFIO_EMU_PERSONALITY_GVTG)
    return -EINVAL;
  return -ENOENT;
}

/* ---------------------------------------------------------------------- */
/* Exports */

static gboolean
survives_double_export (const VfioEmuDevice * dev)
{
  return dev->personality == VFIO_EMU_PERSONALITY_GVTG;
}

static void G_GNUC_NORETURN
report_double_export (const VfioEmuDevice * dev, uint32_t id,
    const EmuExport * first)
{
  void *frames[BACKTRACE_DEPTH];
  int n = backtrace (frames, BACKTRACE_DEPTH);

  dprintf (STDERR_FILENO, "\nvfioemu: FATAL: dmabuf_id %u of mdev %s (%s) "
      "exported again while the device is open (export %u in this device "
      "life).\nvfioemu: mbochs corrupts host memory on this: export each id "
      "once until the last device fd is closed.\n"
      "vfioemu: first export of dmabuf_id %u:\n", id, dev->uuid,
      personality_name (dev->personality), first->count + 1, id);
  backtrace_symbols_fd (first->first_frames, first->n_first_frames,
      STDERR_FILENO);
  dprintf (STDERR_FILENO, "vfioemu: export %u of dmabuf_id %u:\n",
      first->count + 1, id);
  backtrace_symbols_fd (frames, n, STDERR_FILENO);
  dprintf (STDERR_FILENO, "vfioemu: addr2line -f -e FILE +OFFSET names the "
      "lines of a frame FILE(+OFFSET).\n");
  abort ();
}

void
emu_personality_record_export (VfioEmuDevice * dev, uint32_t id)
{
  EmuExport *e = g_hash_table_lookup (dev->exports, GUINT_TO_POINTER (id));

  if (!e) {
    e = g_new0 (EmuExport, 1);
    e->n_first_frames = backtrace (e->first_frames, BACKTRACE_DEPTH);
    g_hash_table_insert (dev->exports, GUINT_TO_POINTER (id), e);
  } else if (!survives_double_export (dev) && !double_export_tolerated) {
    report_double_export (dev, id, e);
  }
  e->count++;
}

unsigned
emu_personality_export_count (const VfioEmuDevice * dev, uint32_t id)
{
  const EmuExport *e = g_hash_table_lookup (dev->exports,
      GUINT_TO_POINTER (id));

  return e ? e->count : 0;
}

gboolean
emu_personality_ids_follow_dmabufs (const VfioEmuDevice * dev)
{
  return dev->personality == VFIO_EMU_PERSONALITY_GVTG;
}

void
emu_personality_dmabuf_exported (VfioEmuDevice * dev, uint32_t id)
{
  EmuScanout *s = find_scanout_by_id (dev, id);

  if (s)
    s->open_dmabufs++;
}

/* dmabuf_gem_object_free(): the object leaves the idr and the list that
 * intel_vgpu_query_plane() searches, and its export records go with it. */
void
emu_personality_dmabuf_released (VfioEmuDevice * dev, uint32_t id)
{
  gint i = scanout_index_of_id (dev, id);
  EmuScanout *s;

  if (i < 0)
    return;
  s = &g_array_index (dev->scanouts, EmuScanout, i);
  if (s->open_dmabufs == 0 || --s->open_dmabufs > 0)
    return;
  g_array_remove_index (dev->scanouts, i);
  g_hash_table_remove (dev->exports, GUINT_TO_POINTER (id));
}

void
emu_personality_life_ends (VfioEmuDevice * dev)
{
  g_hash_table_remove_all (dev->exports);
  g_array_set_size (dev->scanouts, 0);
}

/* ---------------------------------------------------------------------- */
/* PCI identity, region info, removal */

void
emu_personality_pci_ids (const VfioEmuDevice * dev, uint16_t * vendor,
    uint16_t * device)
{
  switch (dev->personality) {
    case VFIO_EMU_PERSONALITY_MBOCHS:
      *vendor = 0x1234;         /* the Bochs/QEMU stdvga ids */
      *device = 0x1111;
      break;
    case VFIO_EMU_PERSONALITY_GVTG:
      *vendor = 0x8086;         /* Intel, a Skylake GT2 */
      *device = 0x1912;
      break;
    case VFIO_EMU_PERSONALITY_GENERIC:
    default:
      *vendor = 0x1b36;         /* Red Hat, as mdpy */
      *device = 0x000f;
      break;
  }
}

gboolean
emu_personality_own_region_info (const VfioEmuDevice * dev)
{
  return dev->personality == VFIO_EMU_PERSONALITY_MBOCHS;
}

/* mbochs_ioctl() and mbochs_get_region_info(): the answer is a struct
 * vfio_region_info_ext (region info + type capability, 48 bytes) copied
 * out over argsz bytes; a larger argsz is EINVAL. The EDID region always
 * says argsz 48, CAPS and cap_offset 32, even when argsz 32 leaves the
 * capability unwritten. */
int
emu_personality_region_info (const VfioEmuDevice * dev,
    const EmuRegion * region, struct vfio_region_info *info)
{
  struct
  {
    struct vfio_region_info base;
    struct vfio_region_info_cap_type type;
  } ext;
  uint32_t argsz = info->argsz;

  if (argsz > sizeof (ext))
    return -EINVAL;

  memset (&ext, 0, sizeof (ext));
  ext.base.argsz = argsz;
  ext.base.index = info->index;
  ext.base.flags = region->flags;
  ext.base.size = region->size;
  ext.base.offset = region->offset;
  if (region->edid) {
    ext.base.argsz = sizeof (ext);
    ext.base.flags |= VFIO_REGION_INFO_FLAG_CAPS;
    ext.base.cap_offset = offsetof (__typeof__ (ext), type);
    ext.type.header.id = VFIO_REGION_INFO_CAP_TYPE;
    ext.type.header.version = 1;
    ext.type.type = VFIO_REGION_TYPE_GFX;
    ext.type.subtype = VFIO_REGION_SUBTYPE_GFX_EDID;
  }
  memcpy (info, &ext, argsz);
  return 0;
}

gboolean
emu_personality_unplug_waits (const VfioEmuDevice * dev)
{
  return dev->personality != VFIO_EMU_PERSONALITY_GENERIC;
}

/* ---------------------------------------------------------------------- */
/* Public API */

void
vfio_emu_set_personality (VfioEmuDevice * dev, VfioEmuPersonality p)
{
  gboolean late;

  g_return_if_fail (dev != NULL);

  emu_lock ();
  late = dev->open || dev->modes->len > 0;
  if (!late) {
    dev->personality = p;
    if (emu_write_config_region (dev) < 0)
      g_critical ("vfioemu: cannot write the config region of %s",
          dev->uuid);
  }
  emu_unlock ();
  if (late)
    g_critical ("vfioemu: set the personality of %s before opening it or "
        "showing a mode", dev->uuid);
}

void
vfio_emu_set_double_export_fatal (gboolean fatal)
{
  emu_lock ();
  double_export_tolerated = !fatal;
  emu_unlock ();
}
