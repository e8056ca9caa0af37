/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * text: the one rule by which groupd shows text that comes from outside it
 * (interface names, file names, group names, the kernel's messages) where
 * text must be valid UTF-8 (D-Bus strings, JSON):
 *
 *   - a byte that is not part of a valid UTF-8 sequence of a Unicode
 *     character is written \xNN (two lower-case hex digits); so are the
 *     bytes of a noncharacter (U+FDD0…U+FDEF, U+xxFFFE, U+xxFFFF), which
 *     some D-Bus implementations (sd-bus) refuse;
 *   - a backslash is written \\ ;
 *   - everything else stays as it is.
 *
 * The mapping is reversible: gd_text_unescape() gives back the bytes (it
 * also takes \xNN for any byte but NUL, and upper-case hex digits). Uses
 * GLib only; every module may call it, groupctl too.
 */
#pragma once

#include <glib.h>

/* The shown form of raw (a new string). */
char *gd_text_escape(const char *raw);
/* Appends the shown form of raw to out. */
void gd_text_append_escaped(GString *out, const char *raw);
/* TRUE when raw is its own shown form (nothing to escape). */
gboolean gd_text_is_plain(const char *raw);
/* TRUE when text has no byte that the rule writes as \xNN: it may go on
 * D-Bus as it is (backslashes allowed). */
gboolean gd_text_is_valid(const char *text);
/* The bytes a shown form stands for, in *raw (a new string): 0, or
 * -EINVAL when a backslash starts neither \\ nor \xNN, or NN is 00. */
int gd_text_unescape(const char *shown, char **raw);
/* For a terminal: a shown form (or any valid UTF-8) with its control
 * characters (C0, DEL, C1) written \xNN, byte by byte, as the rule writes
 * bytes; a backslash is left alone (it is already \\ in a shown form). */
char *gd_text_escape_controls(const char *text);
