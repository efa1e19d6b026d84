/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internal to libvfioemu: the device state shared by vfioemu.c (fds,
 * ioctls, interposers) and vfioemu-personality.c (what differs between the
 * kernel drivers emulated). Every function here is called with the
 * emulator lock held (emu_lock()).
 */
#pragma once

#include "vfioemu.h"

#include <sys/types.h>

#define EMU_PAGE_SIZE 4096
#define REGION_OFFSET(index) (((uint64_t) (index) + 1) << 20)

#define EMU_FOURCC(a, b, c, d) ((uint32_t) (a) | ((uint32_t) (b) << 8) | \
    ((uint32_t) (c) << 16) | ((uint32_t) (d) << 24))

typedef struct
{
  uint32_t fourcc;
  uint64_t modifier;
  uint32_t width;
  uint32_t height;
  uint32_t stride;
  uint64_t size;                /* the plane's size field */
  uint64_t backing;             /* bytes of a dma-buf of this mode */
} EmuMode;

typedef struct
{
  uint64_t offset;
  uint64_t size;
  uint32_t flags;
  gboolean edid;
  uint32_t type;                /* of the type capability, 0: none */
  uint32_t subtype;
} EmuRegion;

struct _VfioEmuDevice
{
  char *uuid;
  char *sysfs_path;
  int group;
  VfioEmuFlags flags;
  VfioEmuPersonality personality;
  int mem_fd;                   /* the regions; device fds are dups */
  dev_t mem_dev;
  ino_t mem_ino;
  uint64_t mem_size;
  uint64_t display_size;        /* size of the display regions */
  guint display_region;         /* the region the plane names */
  gboolean second_display;      /* VFIO_EMU_DISPLAY_REGION2_INDEX exists */
  uint32_t display_type[2];     /* type capability of each display region */
  uint32_t display_subtype[2];
  GArray *modes;                /* EmuMode, in the order first shown */
  int mode;                     /* index in modes, -1: none yet */
  guint buffer;                 /* scan-out buffer of the mode shown */
  gboolean blank;
  gboolean unplugged;
  gboolean unplug_pending;      /* removal waits for the fds to close */
  gboolean mmap_fails;
  gboolean raw_set;
  struct vfio_device_gfx_plane_info raw;
  uint64_t raw_backing;
  GHashTable *counts;           /* request -> calls */
  uint64_t last_flip_time;      /* CLOCK_MONOTONIC ns, 0: never */
  struct _EmuEdid *edid;        /* the EDID region, NULL without one */

  /* A device life: from the first device fd opened until the last one of
   * the process is closed (the kernel's open_device .. close_device). */
  gboolean open;
  GHashTable *exports;          /* dmabuf_id -> EmuExport, this life */
  GArray *scanouts;             /* EmuScanout (MBOCHS, GVTG), this life */
  uint32_t next_id;             /* MBOCHS: never reused while the mdev is */
  unsigned life;                /* counts the device lives that ended */
  gboolean request_offered;     /* GENERIC: VFIO_PCI_REQ_IRQ_INDEX */
  int request_fd;               /* dup of the registered eventfd, or -1 */
};

G_GNUC_INTERNAL void emu_lock (void);
G_GNUC_INTERNAL void emu_unlock (void);
G_GNUC_INTERNAL uint64_t emu_round_up_to_page (uint64_t size);

/* Writes the PCI config region (VFIO_PCI_CONFIG_REGION_INDEX) of @dev. */
G_GNUC_INTERNAL int emu_write_config_region (VfioEmuDevice * dev);

/* vfioemu-personality.c */

G_GNUC_INTERNAL void emu_personality_init (VfioEmuDevice * dev);
G_GNUC_INTERNAL void emu_personality_free (VfioEmuDevice * dev);
G_GNUC_INTERNAL void emu_personality_reset (void);

/* Fills @mode->size and @mode->backing from its stride and height. */
G_GNUC_INTERNAL void emu_personality_size_mode (const VfioEmuDevice * dev,
    EmuMode * mode);

/* The dmabuf_id of the buffer shown (dev->mode, dev->buffer), handing one
 * out when it has none in this device life. */
G_GNUC_INTERNAL uint32_t emu_personality_shown_id (VfioEmuDevice * dev);

/* 0, or the negative errno with which a query of the shown primary plane
 * fails (mbochs' ENOMEM on a scan-out not queried before). */
G_GNUC_INTERNAL int emu_personality_query_errno (VfioEmuDevice * dev);

/* The mode of buffer @id (not the raw plane's); FALSE when unknown. */
G_GNUC_INTERNAL gboolean emu_personality_lookup_id (const VfioEmuDevice *
    dev, uint32_t id, EmuMode * mode);

/* The mode index and scan-out buffer of id @id; FALSE when unknown. */
G_GNUC_INTERNAL gboolean emu_personality_buffer_of_id (const VfioEmuDevice *
    dev, uint32_t id, guint * mode, guint * buffer);

/* The negative errno of GET_GFX_DMABUF for an unknown id. */
G_GNUC_INTERNAL int emu_personality_unknown_id_errno (const VfioEmuDevice *
    dev);

/* The errno of mmap() on a dma-buf exported now, 0 when it maps. */
G_GNUC_INTERNAL int emu_personality_dmabuf_mmap_errno (const VfioEmuDevice *
    dev);

/* Records an export of @id; a second one in one device life on an exporter
 * that cannot take it reports both call sites and aborts. */
G_GNUC_INTERNAL void emu_personality_record_export (VfioEmuDevice * dev,
    uint32_t id);

G_GNUC_INTERNAL unsigned emu_personality_export_count (const VfioEmuDevice *
    dev, uint32_t id);

/* Whether the driver frees an id when its last dma-buf is released
 * (GVTG); then emu_personality_dmabuf_exported() and
 * emu_personality_dmabuf_released() follow the dma-bufs of each id. */
G_GNUC_INTERNAL gboolean emu_personality_ids_follow_dmabufs (const
    VfioEmuDevice * dev);
G_GNUC_INTERNAL void emu_personality_dmabuf_exported (VfioEmuDevice * dev,
    uint32_t id);
G_GNUC_INTERNAL void emu_personality_dmabuf_released (VfioEmuDevice * dev,
    uint32_t id);

/* The last device fd closed: forget what the driver forgets then. */
G_GNUC_INTERNAL void emu_personality_life_ends (VfioEmuDevice * dev);

/* PCI vendor and device id of the config region. */
G_GNUC_INTERNAL void emu_personality_pci_ids (const VfioEmuDevice * dev,
    uint16_t * vendor, uint16_t * device);

/* Whether the driver answers GET_REGION_INFO its own way (mbochs); then
 * emu_personality_region_info() answers it. */
G_GNUC_INTERNAL gboolean emu_personality_own_region_info (const
    VfioEmuDevice * dev);
G_GNUC_INTERNAL int emu_personality_region_info (const VfioEmuDevice * dev,
    const EmuRegion * region, struct vfio_region_info *info);

/* Whether removing the mdev waits for its fds to close (every real driver
 * without a request IRQ) rather than failing them with ENODEV at once. */
G_GNUC_INTERNAL gboolean emu_personality_unplug_waits (const VfioEmuDevice *
    dev);
