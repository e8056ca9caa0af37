/* SPDX-License-Identifier: LGPL-2.1-or-later
 * The D-Bus wire format, as far as the guard needs it: the fixed header,
 * the header fields, the number of values in a body (without allocating
 * any), and an error reply. Pure functions over bytes. */
#include "bus.h"

#include <errno.h>
#include <string.h>

/* The spec's nesting limit: 32 arrays and 32 structs. */
#define MAX_DEPTH 64
/* The spec's limit of one array's length. */
#define MAX_ARRAY_BYTES (64u * 1024 * 1024)

/* ---- signatures ---- */

static gboolean basic_type(char c)
{
    return c && strchr("ybnqiuxtdsogh", c) != NULL;
}

/* Past one complete type at s, or NULL. A dict entry only as an array's
 * element, with a basic key; no empty struct. */
static const char *skip_type(const char *s, gboolean in_array, guint depth)
{
    if (depth > MAX_DEPTH)
        return NULL;
    if (basic_type(*s) || *s == 'v')
        return s + 1;
    switch (*s) {
    case 'a':
        return skip_type(s + 1, TRUE, depth + 1);
    case '(':
        if (*++s == ')')
            return NULL;
        while (*s != ')') {
            s = skip_type(s, FALSE, depth + 1);
            if (!s)
                return NULL;
        }
        return s + 1;
    case '{':
        if (!in_array || !basic_type(s[1]))
            return NULL;
        s = skip_type(s + 2, FALSE, depth + 1);
        return s && *s == '}' ? s + 1 : NULL;
    default:
        return NULL;
    }
}

/* A signature of complete types (empty allowed), at most 255 bytes. */
static gboolean valid_signature(const char *s)
{
    if (strlen(s) > 255)
        return FALSE;
    while (*s) {
        s = skip_type(s, FALSE, 0);
        if (!s)
            return FALSE;
    }
    return TRUE;
}

static guint type_alignment(char c)
{
    switch (c) {
    case 'y':
    case 'g':
    case 'v':
        return 1;
    case 'n':
    case 'q':
        return 2;
    case 'x':
    case 't':
    case 'd':
    case '(':
    case '{':
        return 8;
    default:
        return 4;
    }
}

/* ---- walking values ---- */

typedef struct {
    const guint8 *data; /* the message, from its first byte */
    gsize len;
    gsize pos;
    gboolean big_endian;
    gsize values;
    gsize max_values;
    int error;
} Walk;

static gboolean fail(Walk *w, int error)
{
    if (!w->error)
        w->error = error;
    return FALSE;
}

static gboolean need(Walk *w, gsize n)
{
    return w->pos <= w->len && n <= w->len - w->pos ? TRUE : fail(w, -EBADMSG);
}

/* Padding is zeros, up to a multiple of align from the message start. */
static gboolean align(Walk *w, guint alignment)
{
    gsize pad = (alignment - w->pos % alignment) % alignment;
    if (!need(w, pad))
        return FALSE;
    for (gsize i = 0; i < pad; i++)
        if (w->data[w->pos + i])
            return fail(w, -EBADMSG);
    w->pos += pad;
    return TRUE;
}

static guint32 read_u32(const Walk *w, gsize at)
{
    guint32 v;
    memcpy(&v, w->data + at, sizeof(v));
    return w->big_endian ? GUINT32_FROM_BE(v) : GUINT32_FROM_LE(v);
}

/* A string of type s, o or g at the cursor (aligned): *out points into the
 * data, NUL-terminated there. */
static gboolean read_string(Walk *w, char type, const char **out)
{
    gsize n;
    if (type == 'g') {
        if (!need(w, 1))
            return FALSE;
        n = w->data[w->pos++];
    } else {
        if (!align(w, 4) || !need(w, 4))
            return FALSE;
        n = read_u32(w, w->pos);
        w->pos += 4;
    }
    if (!need(w, n + 1) || w->data[w->pos + n] != '\0')
        return fail(w, -EBADMSG);
    const char *text = (const char *)w->data + w->pos;
    if (memchr(text, '\0', n) || !g_utf8_validate(text, (gssize)n, NULL))
        return fail(w, -EBADMSG);
    if ((type == 'o' && !g_variant_is_object_path(text)) || (type == 'g' && !valid_signature(text)))
        return fail(w, -EBADMSG);
    w->pos += n + 1;
    *out = text;
    return TRUE;
}

static gboolean walk_value(Walk *w, const char **sig, guint depth);

static gboolean walk_array(Walk *w, const char **sig, guint depth)
{
    const char *element = *sig;
    if (!align(w, 4) || !need(w, 4))
        return FALSE;
    guint32 n = read_u32(w, w->pos);
    w->pos += 4;
    if (n > MAX_ARRAY_BYTES || !align(w, type_alignment(*element)) || !need(w, n))
        return fail(w, -EBADMSG);
    if (*element && strchr("ynqiuxtdh", *element)) {
        /* GDBus takes an array of fixed-size numbers in one piece (a
         * boolean's wire and GVariant sizes differ: not those). */
        if (n % type_alignment(*element))
            return fail(w, -EBADMSG);
        w->pos += n;
        *sig = element + 1;
        return TRUE;
    }
    gsize end = w->pos + n;
    while (w->pos < end) {
        const char *e = element;
        if (!walk_value(w, &e, depth + 1))
            return FALSE;
    }
    if (w->pos != end)
        return fail(w, -EBADMSG);
    *sig = skip_type(element, TRUE, 0);
    return TRUE;
}

/* One value of the complete type at *sig, which is valid; *sig moves past
 * it. Every value, basic or container, counts one: what GDBus 2.74 builds a
 * GVariant for (an array of fixed-size numbers is one, see walk_array). */
static gboolean walk_value(Walk *w, const char **sig, guint depth)
{
    if (depth > MAX_DEPTH)
        return fail(w, -EBADMSG);
    if (++w->values > w->max_values)
        return fail(w, -E2BIG);
    char type = *(*sig)++;
    const char *text;
    switch (type) {
    case 'y':
        if (!need(w, 1))
            return FALSE;
        w->pos++;
        return TRUE;
    case 'b':
        if (!align(w, 4) || !need(w, 4))
            return FALSE;
        if (read_u32(w, w->pos) > 1)
            return fail(w, -EBADMSG);
        w->pos += 4;
        return TRUE;
    case 'n':
    case 'q':
    case 'i':
    case 'u':
    case 'h': /* an index into file descriptors, of which none pass */
    case 'x':
    case 't':
    case 'd': {
        guint size = type_alignment(type);
        if (!align(w, size) || !need(w, size))
            return FALSE;
        w->pos += size;
        return TRUE;
    }
    case 's':
    case 'o':
    case 'g':
        return read_string(w, type, &text);
    case 'v': {
        if (!read_string(w, 'g', &text))
            return FALSE;
        const char *inner = text;
        if (!*inner || skip_type(inner, FALSE, 0) != inner + strlen(inner))
            return fail(w, -EBADMSG);
        return walk_value(w, &inner, depth + 1);
    }
    case 'a':
        return walk_array(w, sig, depth);
    case '(':
    case '{':
        if (!align(w, 8))
            return FALSE;
        while (**sig != ')' && **sig != '}')
            if (!walk_value(w, sig, depth + 1))
                return FALSE;
        (*sig)++;
        return TRUE;
    default:
        return fail(w, -EBADMSG);
    }
}

int gd_wire_count_values(const guint8 *message, gsize len, gsize body_offset, gboolean big_endian,
                         const char *signature, gsize max_values, gsize *count)
{
    Walk w = {.data = message,
              .len = len,
              .pos = body_offset,
              .big_endian = big_endian,
              .max_values = max_values};
    if (!valid_signature(signature))
        return -EBADMSG;
    const char *sig = signature;
    while (*sig && walk_value(&w, &sig, 0))
        ;
    if (!w.error && w.pos != len)
        w.error = -EBADMSG; /* bytes after the last value */
    *count = w.values;
    return w.error;
}

/* ---- headers ---- */

int gd_wire_parse_fixed(const guint8 *data, GdWireFixed *out)
{
    memset(out, 0, sizeof(*out));
    if ((data[0] != 'l' && data[0] != 'B') || data[3] != 1)
        return -EBADMSG;
    Walk w = {.data = data, .len = 16, .big_endian = data[0] == 'B'};
    out->big_endian = w.big_endian;
    out->type = data[1];
    out->flags = data[2];
    out->body_len = read_u32(&w, 4);
    out->serial = read_u32(&w, 8);
    out->fields_len = read_u32(&w, 12);
    if (out->serial == 0)
        return -EBADMSG;
    out->header_len = 16 + (gsize)out->fields_len;
    out->header_len += (8 - out->header_len % 8) % 8;
    out->total = out->header_len + out->body_len;
    return 0;
}

void gd_wire_header_clear(GdWireHeader *h)
{
    g_free(h->path);
    g_free(h->interface);
    g_free(h->member);
    g_free(h->error_name);
    g_free(h->destination);
    g_free(h->sender);
    g_free(h->signature);
    memset(h, 0, sizeof(*h));
}

static gboolean take_string(Walk *w, char type, char **out)
{
    const char *text;
    if (!read_string(w, type, &text))
        return FALSE;
    g_free(*out);
    *out = g_strdup(text);
    return TRUE;
}

/* The value of one header field: the known codes with their type. */
static gboolean parse_field(Walk *w, guint8 code, const char *type, GdWireHeader *out)
{
    static const char known[] = "\0osssussgu"; /* by code 1…9 */
    if (code >= 1 && code <= 9 && (strlen(type) != 1 || type[0] != known[code]))
        return fail(w, -EBADMSG);
    switch (code) {
    case 1:
        return take_string(w, 'o', &out->path);
    case 2:
        return take_string(w, 's', &out->interface);
    case 3:
        return take_string(w, 's', &out->member);
    case 4:
        return take_string(w, 's', &out->error_name);
    case 5:
    case 9:
        if (!align(w, 4) || !need(w, 4))
            return FALSE;
        if (code == 5) {
            out->reply_serial = read_u32(w, w->pos);
            out->has_reply_serial = TRUE;
        } else {
            out->unix_fds = read_u32(w, w->pos);
        }
        w->pos += 4;
        return TRUE;
    case 6:
        return take_string(w, 's', &out->destination);
    case 7:
        return take_string(w, 's', &out->sender);
    case 8:
        return take_string(w, 'g', &out->signature);
    default: {
        /* Unknown fields are to be ignored, once well-formed. */
        const char *sig = type;
        return walk_value(w, &sig, 1);
    }
    }
}

/* What GDBus checks before it takes a message. */
static gboolean header_complete(const GdWireFixed *fixed, const GdWireHeader *h)
{
    if ((h->interface && !g_dbus_is_interface_name(h->interface)) ||
        (h->member && !g_dbus_is_member_name(h->member)) ||
        (h->error_name && !g_dbus_is_interface_name(h->error_name)) ||
        (h->destination && !g_dbus_is_name(h->destination)) ||
        (h->sender && !g_dbus_is_name(h->sender)))
        return FALSE;
    switch (fixed->type) {
    case GD_WIRE_METHOD_CALL:
        return h->path && h->member;
    case GD_WIRE_METHOD_RETURN:
        return h->has_reply_serial;
    case GD_WIRE_ERROR:
        return h->has_reply_serial && h->error_name;
    case GD_WIRE_SIGNAL:
        return h->path && h->interface && h->member;
    default:
        return FALSE;
    }
}

int gd_wire_parse_header(const guint8 *data, const GdWireFixed *fixed, GdWireHeader *out)
{
    memset(out, 0, sizeof(*out));
    Walk w = {.data = data,
              .len = 16 + (gsize)fixed->fields_len,
              .pos = 16,
              .big_endian = fixed->big_endian,
              .max_values = G_MAXSIZE};
    while (w.pos < w.len) {
        if (!align(&w, 8) || !need(&w, 1))
            break;
        guint8 code = w.data[w.pos++];
        const char *type;
        if (code == 0 || !read_string(&w, 'g', &type) || !parse_field(&w, code, type, out)) {
            fail(&w, -EBADMSG);
            break;
        }
    }
    /* The padding after the fields is zeros too. */
    if (!w.error) {
        w.len = fixed->header_len;
        align(&w, 8);
    }
    if (!w.error && !header_complete(fixed, out))
        w.error = -EBADMSG;
    if (!out->signature)
        out->signature = g_strdup("");
    return w.error;
}

/* ---- building an error reply ---- */

static void put_pad(GByteArray *out, guint alignment)
{
    static const guint8 zeros[8];
    guint pad = (alignment - out->len % alignment) % alignment;
    g_byte_array_append(out, zeros, pad);
}

static void put_u32(GByteArray *out, guint32 v)
{
    v = GUINT32_TO_LE(v);
    g_byte_array_append(out, (const guint8 *)&v, 4);
}

static void put_string(GByteArray *out, const char *text)
{
    put_pad(out, 4);
    put_u32(out, (guint32)strlen(text));
    g_byte_array_append(out, (const guint8 *)text, (guint)strlen(text) + 1);
}

static void put_field_head(GByteArray *out, guint8 code, char type)
{
    put_pad(out, 8);
    const guint8 head[] = {code, 1, (guint8)type, 0};
    g_byte_array_append(out, head, sizeof(head));
}

GByteArray *gd_wire_error_reply(const GdWireFixed *call, const GdWireHeader *header, guint32 serial,
                                const char *error_name, const char *message)
{
    GByteArray *out = g_byte_array_new();
    const guint8 fixed[] = {'l', GD_WIRE_ERROR, 0x1 /* no reply expected */, 1};
    g_byte_array_append(out, fixed, sizeof(fixed));
    put_u32(out, 0); /* body length, below */
    put_u32(out, serial);
    put_u32(out, 0); /* fields length, below */
    put_field_head(out, 5, 'u');
    put_u32(out, call->serial);
    put_field_head(out, 6, 's');
    put_string(out, header->sender);
    put_field_head(out, 4, 's');
    put_string(out, error_name);
    put_field_head(out, 8, 'g');
    const guint8 sig[] = {1, 's', 0};
    g_byte_array_append(out, sig, sizeof(sig));
    guint32 fields_len = GUINT32_TO_LE(out->len - 16);
    memcpy(out->data + 12, &fields_len, 4);
    put_pad(out, 8);
    guint body_start = out->len;
    put_string(out, message);
    guint32 body_len = GUINT32_TO_LE(out->len - body_start);
    memcpy(out->data + 4, &body_len, 4);
    return out;
}
