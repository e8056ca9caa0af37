/* SPDX-License-Identifier: LGPL-2.1-or-later
 * The a(isuus) link list of ListLinks and LinksChanged, serialised in one
 * buffer. Built with GVariantBuilder, every link costs six GVariant
 * instances (the tuple and its members) that live until the message is
 * sent: about 16 MB for 32768 links, most of groupd's peak memory. */
#include "bus.h"
#include "text/text.h"

#include <string.h>

/* GVariant's framing offsets: as wide as the container's size needs. */
static guint offset_width(gsize body, gsize n_offsets)
{
    gsize total;
    if (body + n_offsets <= G_MAXUINT8)
        total = body + n_offsets;
    else if (body + 2 * n_offsets <= G_MAXUINT16)
        total = body + 2 * n_offsets;
    else if (body + 4 * n_offsets <= G_MAXUINT32)
        total = body + 4 * n_offsets;
    else
        total = body + 8 * n_offsets;
    if (total > G_MAXUINT32)
        return 8;
    if (total > G_MAXUINT16)
        return 4;
    if (total > G_MAXUINT8)
        return 2;
    return total > 0 ? 1 : 0;
}

static void put_offset(GByteArray *out, guint64 value, guint width)
{
    /* Little-endian, like every integer of the serialised form here. */
    guint8 bytes[8];
    for (guint i = 0; i < width; i++)
        bytes[i] = (guint8)(value >> (8 * i));
    g_byte_array_append(out, bytes, width);
}

static void pad(GByteArray *out, gsize start, guint align)
{
    static const guint8 zeros[8];
    gsize misalign = (out->len - start) % align;
    if (misalign)
        g_byte_array_append(out, zeros, align - misalign);
}

static void put_u32(GByteArray *out, guint32 value)
{
    g_byte_array_append(out, (const guint8 *)&value, sizeof(value));
}

/* (isuus): i, the name (its shown form, text/text.h), padding, u, u, the
 * state, then the one framing offset (the end of the name, relative to the
 * tuple). */
static void put_tuple(GByteArray *out, const GdLink *link)
{
    gsize start = out->len;
    put_u32(out, (guint32)link->nl.ifindex);
    g_autofree char *escaped =
        gd_text_is_plain(link->nl.name) ? NULL : gd_text_escape(link->nl.name);
    const char *name = escaped ? escaped : link->nl.name;
    g_byte_array_append(out, (const guint8 *)name, strlen(name) + 1);
    gsize name_end = out->len - start;
    pad(out, start, 4);
    put_u32(out, link->nl.group);
    put_u32(out, link->nl.mtu);
    const char *state = gd_link_operstate_name(link);
    g_byte_array_append(out, (const guint8 *)state, strlen(state) + 1);
    put_offset(out, name_end, offset_width(out->len - start, 1));
}

GVariant *gd_bus_link_list(GPtrArray *links)
{
    G_STATIC_ASSERT(G_BYTE_ORDER == G_LITTLE_ENDIAN);
    GByteArray *out = g_byte_array_sized_new(links->len * 40 + 16);
    g_autofree guint64 *ends = g_new(guint64, links->len + 1);
    for (guint i = 0; i < links->len; i++) {
        pad(out, 0, 4);
        put_tuple(out, links->pdata[i]);
        ends[i] = out->len;
    }
    guint width = offset_width(out->len, links->len);
    for (guint i = 0; i < links->len; i++)
        put_offset(out, ends[i], width);
    GBytes *bytes = g_byte_array_free_to_bytes(out);
    GVariant *list = g_variant_new_from_bytes(G_VARIANT_TYPE("a(isuus)"), bytes, TRUE);
    g_bytes_unref(bytes);
    return list;
}
